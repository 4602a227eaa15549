import { getConnInfo } from '@hono/node-server/conninfo';
import type { Context } from 'hono';
import type { RequestSource } from './principal.ts';

/**
 * The peer address of the socket (not a forwarded header, which a client can forge) and the user
 * agent. Requests that did not come over a socket (app.request in tests) have no address.
 */
export function requestSource(c: Context): RequestSource {
  let ip: string | null = null;
  if ((c.env as { incoming?: unknown } | undefined)?.incoming) {
    try {
      ip = getConnInfo(c).remote.address ?? null;
    } catch {
      ip = null;
    }
  }
  return { ip, userAgent: c.req.header('user-agent')?.slice(0, 512) ?? null };
}
