export * from './pool';
export * from './tenant';
export * from './cursor';
export * from './pg-errors';
