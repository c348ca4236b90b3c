import { z } from '@pos/types';
import { envBool } from '@pos/utils';

export const LOCAL_MONGODB_URI = 'mongodb://127.0.0.1:27017';

/**
 * The MongoDB variables of a service that uses MongoDB (spread into its config schema).
 * `npm start` starts the in-process stand-in and sets MONGODB_URI when it is not configured.
 * The services that use it override MONGODB_URI with requiredInProduction (a deployment must say
 * where its MongoDB is); without MongoDB they still start and serve requests, because MongoDB holds
 * derived data (audit, analytics, usage) that catches up from the event streams once it is back.
 */
export const mongoConfigShape = {
  MONGODB_URI: z.string().min(1).default(LOCAL_MONGODB_URI),
  MONGODB_DB: z.string().regex(/^[A-Za-z0-9_-]{1,63}$/, 'must be a MongoDB database name').default('pos'),
  /** Also write the service's log lines to MongoDB `system_logs` (batched). */
  LOG_TO_MONGO: envBool(false),
};

/** For a service that uses MongoDB only for its logs: MONGODB_URI is needed only with LOG_TO_MONGO=true. */
export const logToMongoConfigShape = {
  LOG_TO_MONGO: mongoConfigShape.LOG_TO_MONGO,
  MONGODB_URI: z.string().min(1).optional(),
  MONGODB_DB: mongoConfigShape.MONGODB_DB,
};
