import type { MiddlewareHandler } from 'hono';
import { secureHeaders } from 'hono/secure-headers';

/** One year; browsers then refuse plain HTTP to this host for that long after one HTTPS visit. */
export const HSTS_VALUE = 'max-age=31536000; includeSubDomains';

/** Paths whose responses may carry PHI: never stored by a browser or an intermediary. */
const PHI_PATHS = /^\/(api|fhir)(\/|$)/;

/**
 * Headers on every cloud response: no sniffing, no framing, no referrer, a Content-Security-Policy
 * that lets an API response load or run nothing, no X-Powered-By; HSTS when the request came over
 * HTTPS; `Cache-Control: no-store` under /api and /fhir.
 */
export function securityHeaders(): MiddlewareHandler {
  const base = secureHeaders({
    contentSecurityPolicy: {
      defaultSrc: ["'none'"],
      frameAncestors: ["'none'"],
      baseUri: ["'none'"],
      formAction: ["'none'"],
    },
    xFrameOptions: 'DENY',
    referrerPolicy: 'no-referrer',
    // Set below, and only over HTTPS: over plain HTTP a browser ignores it anyway (RFC 6797 8.1).
    strictTransportSecurity: false,
    removePoweredBy: true,
  });
  return async (c, next) => {
    await base(c, next);
    // On c.res itself, as secureHeaders does: c.header() after the handler would copy the
    // response, and under @hono/node-server the copy loses the headers set above.
    const headers = c.res.headers;
    if (new URL(c.req.url).protocol === 'https:')
      headers.set('Strict-Transport-Security', HSTS_VALUE);
    if (PHI_PATHS.test(c.req.path)) {
      headers.set('Cache-Control', 'no-store');
      headers.set('Pragma', 'no-cache');
    }
  };
}
