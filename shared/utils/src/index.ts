export * from './config';
export * from './context';
export * from './errors';
export * from './logger';
export * from './redact';
export * from './types';
