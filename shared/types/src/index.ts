export * from './zod';
export * from './money';
export * from './problem';
export * from './roles';
export * from './events';
export * from './pagination';
