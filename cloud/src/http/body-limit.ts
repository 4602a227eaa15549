import type { MiddlewareHandler } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { errorBody } from './json-body.ts';

/** Largest /api request body: the JSON these routes take is small (FHIR has its own 8 MiB). */
export const DEFAULT_API_BODY_BYTES = 1_048_576;

function describeBytes(bytes: number): string {
  if (bytes % 1_048_576 === 0) return `${bytes / 1_048_576} MiB`;
  if (bytes % 1024 === 0) return `${bytes / 1024} KiB`;
  return `${bytes} bytes`;
}

/** Refuses a body over `maxBytes` (declared or streamed) with 413 `body_too_large`. */
export function apiBodyLimit(maxBytes: number = DEFAULT_API_BODY_BYTES): MiddlewareHandler {
  if (!Number.isInteger(maxBytes) || maxBytes < 1)
    throw new Error(`the API body limit must be a positive number of bytes, got ${maxBytes}`);
  return bodyLimit({
    maxSize: maxBytes,
    // Connection: close: the rest of a streamed body is never read, so the connection cannot
    // carry another request (the client's next one would wait for the request timeout).
    onError: (c) =>
      c.json(
        errorBody('body_too_large', `Request body larger than ${describeBytes(maxBytes)}`),
        413,
        { Connection: 'close' },
      ),
  });
}
