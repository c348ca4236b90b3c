import type { Express } from 'express';
import type { RouteTable } from '@pos/http';
import type { AuthDeps } from '../deps';

/** OAuth2 login against a configurable provider (passport-oauth2); see docs/api.md. */
export function oauthRoutes(_app: Express, _table: RouteTable, _deps: AuthDeps): void {}
