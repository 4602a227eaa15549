import { readFileSync } from 'node:fs';
import { Hono } from 'hono';

const file = (name: string) => readFileSync(new URL(`./visit-page/${name}`, import.meta.url));

/**
 * The page's own security headers. It is mounted ahead of the cloud's securityHeaders (whose
 * policy lets a response run nothing): this one lets the page run its own script, open its own
 * socket and use the camera and microphone, and nothing else.
 */
const PAGE_HEADERS = {
  'Content-Security-Policy': [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    "connect-src 'self'",
    "media-src 'self' blob: mediastream:",
    "img-src 'self' data:",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'none'",
  ].join('; '),
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Permissions-Policy': 'camera=(self), microphone=(self), display-capture=()',
  'Cross-Origin-Opener-Policy': 'same-origin',
  'Cache-Control': 'no-cache',
};

/**
 * GET /telehealth/visit/:appointmentId — the visit page for both sides (HTML, script and style,
 * no PHI: everything about the visit comes from the API after sign-in).
 */
export function visitPageApp(): Hono {
  const assets = {
    html: file('visit.html'),
    js: file('visit.js'),
    css: file('visit.css'),
  };
  const app = new Hono();
  const send = (body: Buffer, type: string) =>
    new Response(new Uint8Array(body), { headers: { ...PAGE_HEADERS, 'Content-Type': type } });
  app.get('/visit/:appointmentId', () => send(assets.html, 'text/html; charset=utf-8'));
  app.get('/visit.js', () => send(assets.js, 'text/javascript; charset=utf-8'));
  app.get('/visit.css', () => send(assets.css, 'text/css; charset=utf-8'));
  return app;
}
