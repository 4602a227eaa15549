import type { Context } from 'hono';
import { errorForLog } from '../crypto/log-redaction.ts';
import { ApiError, errorBody } from '../http/json-body.ts';
import { PasswordPolicyError } from './passwords.ts';

export type AuthErrorStatus = 400 | 401 | 403 | 404 | 409 | 423;

/** A refused identity request: HTTP status and a stable machine-readable code. */
export class AuthError extends Error {
  readonly status: AuthErrorStatus;
  readonly code: string;
  constructor(status: AuthErrorStatus, code: string, message: string) {
    super(message);
    this.name = 'AuthError';
    this.status = status;
    this.code = code;
  }
}

/** onError of the identity apps: AuthError, ApiError (bad JSON bodies) and weak passwords. */
export function authErrors(error: Error, c: Context) {
  if (error instanceof AuthError) {
    if (error.status === 401) c.header('WWW-Authenticate', 'Bearer realm="wardgate"');
    return c.json(errorBody(error.code, error.message), error.status);
  }
  if (error instanceof ApiError) return c.json(errorBody(error.code, error.message), error.status);
  if (error instanceof PasswordPolicyError)
    return c.json(errorBody('weak-password', error.message), 400);
  console.error('auth: request failed', c.req.method, c.req.path, errorForLog(error));
  return c.json(errorBody('internal_error', 'Internal server error'), 500);
}
