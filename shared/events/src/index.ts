export * from './stream-names';
export * from './errors';
export * from './outbox';
export * from './relay';
export * from './consumer';
export * from './request-audit';
