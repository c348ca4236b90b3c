/** payment-service's Postgres schema (package.json "pos.schema"). */
export const SCHEMA = 'payments';
