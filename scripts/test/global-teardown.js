// Runs once after all test files: stops the MongoDB stand-in that global-setup.js started (if any).
module.exports = async () => {
  const child = globalThis.__POS_MONGO_STAND_IN__;
  if (!child || child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const force = setTimeout(() => child.kill('SIGKILL'), 5_000);
  await exited;
  clearTimeout(force);
  globalThis.__POS_MONGO_STAND_IN__ = undefined;
};
