import { Hono } from 'hono';
import type { Db } from '../db/database.ts';
import { adminRoutes } from './admin-routes.ts';
import { authErrors } from './errors.ts';
import { type AuthOptions, authConfig } from './options.ts';
import { sessionRoutes } from './session-routes.ts';
import { tokenRoute } from './token-route.ts';

/**
 * The identity API, to mount at `/api`: `/auth/*` (login, MFA, logout, me, password change, the
 * OAuth2 token endpoint) and `/admin/users|clients/*` (administrators only, authenticated here).
 * Login and token need no bearer token; the rest check theirs themselves.
 */
export function authApp(db: Db, options: AuthOptions): Hono {
  const config = authConfig(options);
  const app = new Hono();
  const sessions = sessionRoutes(db, config);
  sessions.onError(authErrors);
  const token = tokenRoute(db, config);
  token.onError(authErrors);
  app.route('/', sessions);
  app.route('/', token);
  app.route('/', adminRoutes(db, config));
  return app;
}
