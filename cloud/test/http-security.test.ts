import { connect } from 'node:net';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { type Cloud, startCloud } from '../src/server.ts';
import { apiToken, fetchWith } from './support/api-token.ts';
import { testDatabaseTargets } from './support/test-database.ts';

// Headers, size limits and timeouts sit in front of the database: one target is enough.
const [target] = testDatabaseTargets();
const time = { now: 1_800_000_000_000 };
let cloud: Cloud;

test.before(async () => {
  cloud = await startCloud({
    database: await target.open(),
    httpPort: 0,
    mqttPort: 0,
    timeouts: { headersTimeoutMs: 300, requestTimeoutMs: 600, checkIntervalMs: 50 },
    app: {
      rateLimits: { login: { perAccount: { windowMs: 60_000, max: 2 } } },
      clock: () => time.now,
    },
  });
});

test.after(async () => {
  await cloud?.stop();
});

function assertSecurityHeaders(response: Response, what: string) {
  const h = response.headers;
  assert.is(h.get('x-content-type-options'), 'nosniff', what);
  assert.is(h.get('x-frame-options'), 'DENY', what);
  assert.is(h.get('referrer-policy'), 'no-referrer', what);
  assert.is(
    h.get('content-security-policy'),
    "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'",
    what,
  );
  assert.is(h.get('x-powered-by'), null, what);
  assert.is(h.get('strict-transport-security'), null, `${what}: no HSTS over plain HTTP`);
}

test('security headers on /health, /api and /fhir; no-store where PHI may be', async () => {
  const health = await fetch(`${cloud.httpUrl}/health`);
  assert.is(health.status, 200);
  assertSecurityHeaders(health, '/health');

  for (const path of [
    '/api/alarms',
    '/api/no-such-route',
    '/fhir/R4/metadata',
    '/fhir/R4/Patient',
  ]) {
    const response = await fetch(`${cloud.httpUrl}${path}`);
    await response.arrayBuffer();
    assertSecurityHeaders(response, `${path} (${response.status})`);
    assert.is(response.headers.get('cache-control'), 'no-store', path);
  }
});

test('an /api body over 1 MiB is 413 with a JSON error, declared or streamed', async () => {
  const big = 'x'.repeat(1_048_577);
  const declared = await fetch(`${cloud.httpUrl}/api/enroll`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: big,
  });
  assert.is(declared.status, 413);
  assert.equal(await declared.json(), {
    error: { code: 'body_too_large', message: 'Request body larger than 1 MiB' },
  });
  assertSecurityHeaders(declared, '413');

  // No Content-Length: chunked, counted as it arrives.
  const chunk = new TextEncoder().encode('y'.repeat(65_536));
  let sent = 0;
  const stream = new ReadableStream<Uint8Array>({
    pull(controller) {
      if (sent++ < 17) controller.enqueue(chunk);
      else controller.close();
    },
  });
  const streamed = await fetch(`${cloud.httpUrl}/api/enroll`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: stream,
    duplex: 'half',
  } as RequestInit);
  assert.is(streamed.status, 413);
  // The unread rest of the body must not poison the connection for the next request.
  assert.is(streamed.headers.get('connection'), 'close');

  const small = await fetch(`${cloud.httpUrl}/api/enroll`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ token: 'nope', publicKey: 'nope' }),
  });
  await small.arrayBuffer();
  assert.not.equal(small.status, 413, 'a small body passes the limit');
});

test('FHIR keeps its own 8 MiB limit', async () => {
  // Signed in: an anonymous request is refused (401) before its body is read at all.
  const fetch = fetchWith(await apiToken(cloud));
  const twoMiB = JSON.stringify({ resourceType: 'Patient', text: 'x'.repeat(2 * 1_048_576) });
  const response = await fetch(`${cloud.httpUrl}/fhir/R4/Patient`, {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json' },
    body: twoMiB,
  });
  await response.arrayBuffer();
  assert.not.equal(response.status, 413, 'a 2 MiB FHIR body is not refused for its size');
  const nineMiB = await fetch(`${cloud.httpUrl}/fhir/R4/Patient`, {
    method: 'POST',
    headers: { 'content-type': 'application/fhir+json' },
    body: 'x'.repeat(9 * 1_048_576),
  });
  assert.is(nineMiB.status, 413);
  assert.is(((await nineMiB.json()) as { resourceType: string }).resourceType, 'OperationOutcome');
});

test('login attempts at one account are limited: 429 with Retry-After, then recovered', async () => {
  const attempt = () =>
    fetch(`${cloud.httpUrl}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'nurse.joy', password: 'wrong password' }),
    });
  for (let i = 0; i < 2; i++) {
    const response = await attempt();
    await response.arrayBuffer();
    assert.not.equal(response.status, 429, `attempt ${i + 1}`);
  }
  const refused = await attempt();
  assert.is(refused.status, 429);
  assert.is(refused.headers.get('retry-after'), '30');
  assert.is(((await refused.json()) as { error: { code: string } }).error.code, 'rate_limited');
  time.now += 30_000;
  const again = await attempt();
  await again.arrayBuffer();
  assert.not.equal(again.status, 429);
});

/** Sends `text` on a raw socket and resolves with all the server said once it hangs up. */
function rawExchange(text: string) {
  return new Promise<string>((resolve, reject) => {
    const url = new URL(cloud.httpUrl);
    const socket = connect(Number(url.port), url.hostname, () => socket.write(text));
    let answer = '';
    socket.on('data', (chunk) => {
      answer += chunk;
    });
    socket.on('close', () => resolve(answer));
    socket.on('error', reject);
  });
}

test('slow clients are cut off: headers that never finish, a body that never arrives', async () => {
  const headers = await rawExchange('GET /health HTTP/1.1\r\nHost: localhost\r\nX-Slow: ');
  assert.match(headers, /^HTTP\/1\.1 408/);
  const body = await rawExchange(
    'POST /api/enroll HTTP/1.1\r\nHost: localhost\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{"to',
  );
  assert.match(body, /^HTTP\/1\.1 408/);
});

test.run();
