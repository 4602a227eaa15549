import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Context, Hono } from 'hono';
import { bodyLimit } from 'hono/body-limit';
import { DEFAULT_LIVE_TIMING, LiveHub, type LiveTiming } from './live.ts';
import { MessageRates } from './message-rates.ts';
import { DEFAULT_LOCKOUT, type LockoutPolicy, StaffAuth } from './staff-auth.ts';
import type { ActiveAlarm, LiveWard } from './types.ts';

export interface UiOptions {
  timing?: LiveTiming;
  lockout?: LockoutPolicy;
  /** Where nurse.html, biomed.html and their assets live (default: ./static next to this file). */
  staticDir?: string;
}

const STATIC_DIR = fileURLToPath(new URL('./static/', import.meta.url));

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
};

/** Only plain file names with a known type: no paths, so nothing outside the static folder. */
const ASSET_NAME = /^[a-z0-9][a-z0-9-]*\.(html|js|css|svg)$/;

/** The pages load nothing from anywhere but the gateway itself. */
const CSP =
  "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; " +
  "connect-src 'self'; object-src 'none'; base-uri 'none'; frame-ancestors 'none'";

/**
 * The gateway's pages: the nurse alarm screen at `/`, the biomed page at `/biomed`, their assets
 * under `/ui/`, the live feed at `/api/live`, acknowledge and silence, and the biomed data.
 */
export function uiApp(ward: LiveWard, options: UiOptions = {}): Hono {
  const staticDir = options.staticDir ?? STATIC_DIR;
  const hub = new LiveHub(ward, options.timing ?? DEFAULT_LIVE_TIMING);
  const auth = new StaffAuth(options.lockout ?? DEFAULT_LOCKOUT);
  const rates = new MessageRates();
  const app = new Hono();

  const asset = async (c: Context, name: string) => {
    if (!ASSET_NAME.test(name)) return c.json({ error: `no such file: ${name}` }, 404);
    let body: Buffer;
    try {
      body = await readFile(join(staticDir, name));
    } catch {
      return c.json({ error: `no such file: ${name}` }, 404);
    }
    const etag = `"${createHash('sha1').update(body).digest('base64url')}"`;
    const html = name.endsWith('.html');
    const headers: Record<string, string> = {
      'content-type': CONTENT_TYPES[extname(name)],
      // HTML is always revalidated so a gateway upgrade shows at once; assets briefly cached.
      'cache-control': html ? 'no-cache' : 'public, max-age=60, must-revalidate',
      etag,
      'x-content-type-options': 'nosniff',
    };
    if (html) headers['content-security-policy'] = CSP;
    if (c.req.header('if-none-match') === etag) return c.body(null, 304, headers);
    return c.body(new Uint8Array(body), 200, headers);
  };

  app.get('/', (c) => asset(c, 'nurse.html'));
  app.get('/biomed', (c) => asset(c, 'biomed.html'));
  app.get('/ui/:file', (c) => asset(c, c.req.param('file')));

  app.get(
    '/api/live',
    () =>
      new Response(hub.open(), {
        headers: {
          'content-type': 'text/event-stream; charset=utf-8',
          'cache-control': 'no-cache, no-transform',
          connection: 'keep-alive',
          'x-accel-buffering': 'no',
        },
      }),
  );

  app.get('/api/biomed', (c) => {
    const bedOf = new Map<string, string>();
    for (const bed of ward.beds()) for (const d of bed.devices) bedOf.set(d.deviceId, bed.bedId);
    const devices = rates
      .withRates(ward.deviceStats())
      .map((d) => ({ ...d, bedId: bedOf.get(d.deviceId) ?? null }));
    return c.json({
      gatewayId: ward.gatewayId,
      time: Date.now(),
      devices,
      health: ward.health(),
      ui: {
        liveClients: hub.clientCount,
        snapshotErrors: hub.snapshotErrors,
        lastSnapshotError: hub.lastSnapshotError,
        refusedStaffChecks: auth.refused,
      },
    });
  });

  const limit = bodyLimit({
    maxSize: 4096,
    onError: (c) => c.json({ error: 'request body larger than 4 KB' }, 413),
  });

  /** Checks badge + PIN, then runs the alarm action as that badge. */
  const staffAction =
    (target: (c: Context) => { id: string; known: boolean; what: string }, act: ActionFn) =>
    async (c: Context) => {
      const credentials = await readCredentials(c);
      if ('error' in credentials) return c.json({ error: credentials.error }, 400);
      const check = auth.check(ward.staff(), credentials.badge, credentials.pin);
      if (!check.ok && check.reason === 'locked') {
        const minutes = Math.ceil(check.retryAfterMs / 60_000);
        c.header('retry-after', String(Math.ceil(check.retryAfterMs / 1000)));
        return c.json(
          {
            error: `too many wrong PINs for badge ${credentials.badge}: locked, try again in ${minutes} min`,
          },
          429,
        );
      }
      if (!check.ok) return c.json({ error: 'badge or PIN not recognised' }, 401);
      const { id, known, what } = target(c);
      if (!known) return c.json({ error: `${what} ${id} is not active` }, 404);
      try {
        const { badge, name } = check.member;
        return c.json({ alarms: act(id, badge), actor: { badge, name } });
      } catch (error) {
        const message = error instanceof Error ? error.message : String(error);
        // The alarm may have ended between the check and the action.
        const stillKnown = target(c).known;
        return c.json(
          { error: stillKnown ? message : `${what} ${id} is not active` },
          stillKnown ? 409 : 404,
        );
      }
    };

  const alarmTarget = (c: Context) => {
    const id = c.req.param('alarmId') ?? '';
    return { id, known: ward.alarms.active().some((a) => a.alarmId === id), what: 'alarm' };
  };
  const bedTarget = (c: Context) => {
    const id = c.req.param('bedId') ?? '';
    const known =
      ward.beds().some((b) => b.bedId === id) || ward.alarms.active().some((a) => a.bedId === id);
    return { id, known, what: 'bed' };
  };

  app.post(
    '/api/alarms/:alarmId/ack',
    limit,
    staffAction(alarmTarget, (id, actor) => [ward.alarms.acknowledge(id, actor)]),
  );
  app.post(
    '/api/alarms/:alarmId/silence',
    limit,
    staffAction(alarmTarget, (id, actor) => ward.alarms.silence(id, actor)),
  );
  app.post(
    '/api/beds/:bedId/silence',
    limit,
    staffAction(bedTarget, (id, actor) => ward.alarms.silence(id, actor)),
  );

  return app;
}

type ActionFn = (id: string, actor: string) => ActiveAlarm[];

async function readCredentials(
  c: Context,
): Promise<{ badge: string; pin: string } | { error: string }> {
  let body: unknown;
  try {
    body = await c.req.json();
  } catch {
    return { error: 'body must be JSON { "badge": "...", "pin": "..." }' };
  }
  if (typeof body !== 'object' || body === null) return { error: 'body must be a JSON object' };
  const { badge, pin } = body as Record<string, unknown>;
  if (typeof badge !== 'string' || badge.length === 0 || badge.length > 64)
    return { error: 'badge must be a string of 1-64 characters' };
  if (typeof pin !== 'string' || pin.length === 0 || pin.length > 16)
    return { error: 'pin must be a string of 1-16 characters' };
  return { badge, pin };
}
