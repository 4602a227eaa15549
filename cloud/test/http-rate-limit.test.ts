import { Hono } from 'hono';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { AuthEnv } from '../src/auth/hono-env.ts';
import type { Principal } from '../src/auth/principal.ts';
import { rateLimit, TokenBuckets } from '../src/http/rate-limit.ts';
import {
  apiRateLimit,
  DEFAULT_RATE_LIMITS,
  loginRateLimit,
  rateLimitedForPath,
  rateLimitedOutcome,
  rateLimitSettings,
} from '../src/http/rate-limit-defaults.ts';

/** A settable clock: tests move time instead of sleeping. */
function clock(start = 1_800_000_000_000) {
  const state = { now: start };
  return { now: () => state.now, advance: (ms: number) => (state.now += ms) };
}

/** Bindings as @hono/node-server passes them, so the limiter sees a peer address. */
const from = (ip: string) => ({
  incoming: { socket: { remoteAddress: ip, remoteFamily: 'IPv4' } },
});

test('429 with Retry-After and a JSON error after max requests; recovers as the window refills', async () => {
  const time = clock();
  const app = new Hono();
  app.use('*', rateLimit({ windowMs: 60_000, max: 3, key: () => 'everyone', now: time.now }));
  app.get('/x', (c) => c.text('ok'));
  for (let i = 0; i < 3; i++) assert.is((await app.request('/x')).status, 200, `request ${i + 1}`);
  const refused = await app.request('/x');
  assert.is(refused.status, 429);
  // 3 per minute refill one every 20 s.
  assert.is(refused.headers.get('retry-after'), '20');
  assert.equal(await refused.json(), {
    error: { code: 'rate_limited', message: 'Too many requests: try again in 20 s' },
  });
  time.advance(19_999);
  assert.is((await app.request('/x')).status, 429, 'not yet refilled');
  time.advance(1);
  assert.is((await app.request('/x')).status, 200, 'one request back after 20 s');
  assert.is((await app.request('/x')).status, 429);
  time.advance(60_000);
  for (let i = 0; i < 3; i++) assert.is((await app.request('/x')).status, 200, 'full again');
});

test('a null key is not limited; keys have separate budgets', async () => {
  const time = clock();
  const app = new Hono();
  app.use(
    '*',
    rateLimit({ windowMs: 1000, max: 1, key: (c) => c.req.query('who') ?? null, now: time.now }),
  );
  app.get('/', (c) => c.text('ok'));
  assert.is((await app.request('/?who=a')).status, 200);
  assert.is((await app.request('/?who=a')).status, 429);
  assert.is((await app.request('/?who=b')).status, 200);
  for (let i = 0; i < 5; i++) assert.is((await app.request('/')).status, 200);
});

test('FHIR routes render the refusal as an OperationOutcome', async () => {
  const time = clock();
  const app = new Hono();
  app.use(
    '*',
    rateLimit({
      windowMs: 1000,
      max: 1,
      key: () => 'k',
      now: time.now,
      onLimited: rateLimitedOutcome,
    }),
  );
  app.get('/Patient', (c) => c.json({ resourceType: 'Bundle' }));
  await app.request('/Patient');
  const refused = await app.request('/Patient');
  assert.is(refused.status, 429);
  assert.is(refused.headers.get('retry-after'), '1');
  assert.match(refused.headers.get('content-type') ?? '', 'application/fhir+json');
  const outcome = (await refused.json()) as { resourceType: string; issue: { code: string }[] };
  assert.is(outcome.resourceType, 'OperationOutcome');
  assert.is(outcome.issue[0].code, 'throttled');
});

test('one limiter for /api and /fhir: one budget, each refused in its own format', async () => {
  const time = clock();
  const app = new Hono<AuthEnv>();
  app.use(
    '*',
    apiRateLimit({
      rule: { windowMs: 60_000, max: 2 },
      now: time.now,
      onLimited: rateLimitedForPath,
    }),
  );
  app.get('/api/x', (c) => c.text('ok'));
  app.get('/fhir/R4/Patient', (c) => c.text('ok'));
  assert.is((await app.request('/api/x')).status, 200);
  assert.is((await app.request('/fhir/R4/Patient')).status, 200);
  const fhir = await app.request('/fhir/R4/Patient');
  assert.is(fhir.status, 429);
  assert.is(((await fhir.json()) as { resourceType: string }).resourceType, 'OperationOutcome');
  const api = await app.request('/api/x');
  assert.is(api.status, 429);
  assert.is(((await api.json()) as { error: { code: string } }).error.code, 'rate_limited');
});

test('memory is bounded: beyond maxKeys the least recently used bucket goes', () => {
  const buckets = new TokenBuckets({ windowMs: 60_000, max: 1 }, 2);
  assert.ok(buckets.take('a', 0).allowed);
  assert.ok(buckets.take('b', 0).allowed);
  assert.not.ok(buckets.take('a', 1).allowed, 'a is spent and now the most recent');
  assert.ok(buckets.take('c', 2).allowed);
  assert.is(buckets.size, 2);
  assert.ok(buckets.take('b', 3).allowed, 'b was evicted, so it starts full');
  assert.not.ok(buckets.take('c', 4).allowed, 'c was kept');
  for (let i = 0; i < 10_000; i++) buckets.take(`flood-${i}`, 5);
  assert.is(buckets.size, 2);
});

test('bad rules are refused when the limiter is made', () => {
  assert.throws(() => new TokenBuckets({ windowMs: 1000, max: 0 }), /max/);
  assert.throws(() => new TokenBuckets({ windowMs: 0, max: 1 }), /windowMs/);
  assert.throws(() => new TokenBuckets({ windowMs: 1000, max: 1 }, 0), /maxKeys/);
});

test('login: per account across addresses, per address across accounts; Basic and form bodies', async () => {
  const time = clock();
  const limit = loginRateLimit({
    limits: { perIp: { windowMs: 60_000, max: 4 }, perAccount: { windowMs: 60_000, max: 2 } },
    now: time.now,
  });
  const app = new Hono();
  app.post('/login', limit, async (c) => {
    // The route still reads the body the limiter looked at.
    const body = (await c.req.json()) as { username: string };
    return c.json({ hello: body.username });
  });
  app.post('/token', limit, async (c) => c.json({ form: (await c.req.parseBody()).grant_type }));
  const login = (username: string, ip: string) =>
    app.request(
      '/login',
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ username, password: 'x' }),
      },
      from(ip),
    );
  const first = await login('dr.grey', '10.0.0.1');
  assert.equal(await first.json(), { hello: 'dr.grey' });
  assert.is((await login('DR.GREY', '10.0.0.2')).status, 200, 'usernames are case-folded');
  const third = await login('dr.grey', '10.0.0.3');
  assert.is(third.status, 429, 'the account budget spans addresses');
  assert.is(third.headers.get('retry-after'), '30');

  // Spraying from one address: its own budget (4) runs out whatever the accounts.
  assert.is((await login('a', '10.0.0.9')).status, 200);
  assert.is((await login('b', '10.0.0.9')).status, 200);
  assert.is((await login('c', '10.0.0.9')).status, 200);
  assert.is((await login('d', '10.0.0.9')).status, 200);
  assert.is((await login('e', '10.0.0.9')).status, 429);

  const token = (clientId: string, how: 'basic' | 'form') =>
    app.request(
      '/token',
      {
        method: 'POST',
        headers: {
          'content-type': 'application/x-www-form-urlencoded',
          ...(how === 'basic'
            ? { authorization: `Basic ${Buffer.from(`${clientId}:secret`).toString('base64')}` }
            : {}),
        },
        body: `grant_type=client_credentials${how === 'form' ? `&client_id=${clientId}` : ''}`,
      },
      from(`10.1.0.${Math.floor(Math.random() * 200)}`),
    );
  const ok = await token('lab-system', 'basic');
  assert.equal(await ok.json(), { form: 'client_credentials' });
  assert.is((await token('lab-system', 'form')).status, 200);
  assert.is((await token('lab-system', 'basic')).status, 429, 'one client, however it says so');

  time.advance(30_000);
  assert.is((await login('dr.grey', '10.0.0.4')).status, 200, 'recovered after 30 s');
});

test('API: per principal once authenticated, else per address', async () => {
  const time = clock();
  const app = new Hono<AuthEnv>();
  app.use('*', async (c, next) => {
    const who = c.req.header('x-test-user');
    if (who) c.set('principal', { kind: 'client', id: who, name: who, scopes: [] } as Principal);
    await next();
  });
  app.use('*', apiRateLimit({ rule: { windowMs: 60_000, max: 2 }, now: time.now }));
  app.get('/api/x', (c) => c.text('ok'));
  const get = (user: string | null, ip: string) =>
    app.request('/api/x', { headers: user ? { 'x-test-user': user } : {} }, from(ip));
  assert.is((await get('c1', '10.0.0.1')).status, 200);
  assert.is((await get('c1', '10.0.0.2')).status, 200);
  assert.is((await get('c1', '10.0.0.3')).status, 429, 'the principal budget spans addresses');
  assert.is((await get('c2', '10.0.0.1')).status, 200, 'another principal has its own');
  assert.is((await get(null, '10.0.0.1')).status, 200);
  assert.is((await get(null, '10.0.0.1')).status, 200);
  assert.is((await get(null, '10.0.0.1')).status, 429, 'anonymous: by address');
  assert.is((await get(null, '10.0.0.5')).status, 200);
});

test('settings: defaults, and partial overrides keep the other field', () => {
  assert.equal(rateLimitSettings(), DEFAULT_RATE_LIMITS);
  const s = rateLimitSettings({ login: { perAccount: { max: 3 } }, api: { windowMs: 1000 } });
  assert.equal(s.login.perAccount, { windowMs: 60_000, max: 3 });
  assert.equal(s.login.perIp, DEFAULT_RATE_LIMITS.login.perIp);
  assert.equal(s.api, { windowMs: 1000, max: 600 });
});

test.run();
