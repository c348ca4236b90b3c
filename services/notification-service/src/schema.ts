/** The Postgres schema this service owns. */
export const SCHEMA = 'notifications';
