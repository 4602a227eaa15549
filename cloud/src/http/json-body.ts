import type { Context } from 'hono';
import type { z } from 'zod';
import { AccessDenied } from '../access/access-denied.ts';
import { errorForLog } from '../crypto/log-redaction.ts';

/** A refused API request: `status` is the HTTP status, `code` a stable machine-readable reason. */
export class ApiError extends Error {
  readonly status: 400 | 404 | 409;
  readonly code: string;
  constructor(status: 400 | 404 | 409, code: string, message: string) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
  }
}

/** The body every wardgate API answers a refused request with. */
export function errorBody(code: string, message: string) {
  return { error: { code, message } };
}

/** The JSON body checked against `schema`; ApiError 400 `invalid_body` saying what is wrong. */
export async function jsonBody<T extends z.ZodType>(c: Context, schema: T): Promise<z.infer<T>> {
  let json: unknown;
  try {
    json = await c.req.json();
  } catch {
    throw new ApiError(400, 'invalid_body', 'the body must be JSON');
  }
  const parsed = schema.safeParse(json);
  if (!parsed.success)
    throw new ApiError(
      400,
      'invalid_body',
      parsed.error.issues
        .map((i) => `${i.path.map(String).join('.') || '(body)'}: ${i.message}`)
        .join('; '),
    );
  return parsed.data;
}

/**
 * onError for API apps: ApiError and AccessDenied (403) as their status and body, anything else
 * logged (the path only: a query may name a patient) and 500.
 */
export function apiErrors(error: Error, c: Context) {
  if (error instanceof ApiError) return c.json(errorBody(error.code, error.message), error.status);
  if (error instanceof AccessDenied) return c.json(errorBody(error.code, error.message), 403);
  console.error(
    'api: request failed',
    c.req.method,
    new URL(c.req.url).pathname,
    errorForLog(error),
  );
  return c.json(errorBody('internal_error', 'Internal server error'), 500);
}
