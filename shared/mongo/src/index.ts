export * from './connection';
export * from './facts';
export * from './log-transport';
export * from './stand-in';
export * from './config';
export { ObjectId, type Collection, type Db, type Document, type Filter } from 'mongodb';
