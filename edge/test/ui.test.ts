import { readdir, readFile } from 'node:fs/promises';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { type ServerType, serve } from '@hono/node-server';
import type { AlarmEventInput } from '@wardgate/shared';
import { waitFor } from '@wardgate/shared/testing';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { ActiveAlarm, AlarmEngineApi } from '../src/alarms/types.ts';
import type { DeviceStats } from '../src/drivers/types.ts';
import { uiApp } from '../src/ui/routes.ts';
import type { BedView, GatewayHealth, LiveWard } from '../src/ui/types.ts';

const STATIC_DIR = fileURLToPath(new URL('../src/ui/static/', import.meta.url));

/** Just enough of the alarm engine for the pages: an in-memory list and the two staff actions. */
class FakeAlarms implements AlarmEngineApi {
  list: ActiveAlarm[] = [];
  actions: { action: 'ack' | 'silence'; id: string; actor: string }[] = [];
  private readonly listeners: (() => void)[] = [];

  raise(alarm: Partial<ActiveAlarm> & { alarmId: string; bedId: string }): void {
    this.list.push({
      deviceId: 'mon-1',
      source: 'device',
      condition: 'MDC_EVT_LO',
      priority: 'high',
      kind: 'physiological',
      state: 'active',
      message: 'SpO2 86 % < 90',
      raisedAt: Date.now(),
      acknowledged: null,
      silencedUntil: null,
      silencedBy: null,
      escalated: false,
      ...alarm,
    });
    this.changed();
  }
  changed(): void {
    for (const l of this.listeners) l();
  }
  acknowledge(alarmId: string, actor: string): ActiveAlarm {
    const alarm = this.list.find((a) => a.alarmId === alarmId);
    if (!alarm) throw new Error(`unknown alarm ${alarmId}`);
    alarm.acknowledged = { by: actor, at: Date.now() };
    this.actions.push({ action: 'ack', id: alarmId, actor });
    this.changed();
    return alarm;
  }
  silence(alarmId: string, actor: string): ActiveAlarm[] {
    const hit = this.list.filter((a) => a.alarmId === alarmId || a.bedId === alarmId);
    for (const a of hit) {
      a.silencedUntil = Date.now() + 120_000;
      a.silencedBy = actor;
    }
    this.actions.push({ action: 'silence', id: alarmId, actor });
    this.changed();
    return hit;
  }
  active(): ActiveAlarm[] {
    return this.list.map((a) => ({ ...a }));
  }
  onChange(listener: () => void): void {
    this.listeners.push(listener);
  }
  onReadings(): void {}
  onDeviceAlarm(): void {}
  onTechnical(): void {}
  tick(): void {}
  setBedSettings(): void {}
  onTransition(_listener: (event: AlarmEventInput) => void): void {}
}

class FakeWard implements LiveWard {
  readonly gatewayId = 'gw-test';
  readonly alarms = new FakeAlarms();
  readonly listeners = new Set<() => void>();
  bedList: BedView[] = [
    {
      bedId: 'bed-1',
      displayName: 'Doe, J.',
      devices: [{ deviceId: 'mon-1', kind: 'monitor', state: 'online', lastContact: Date.now() }],
      vitals: { MDC_ECG_HEART_RATE: { value: 72, unit: '/min', time: Date.now() } },
    },
    { bedId: 'bed-2', displayName: null, devices: [], vitals: {} },
  ];
  stats: DeviceStats[] = [
    {
      deviceId: 'mon-1',
      kind: 'monitor',
      state: 'online',
      lastContact: Date.now(),
      messages: 10,
      errors: 1,
      lastError: 'bad OBX',
      connectAttempts: 1,
      detail: 'hl7-mllp 127.0.0.1:2575',
    },
  ];
  beds(): BedView[] {
    return structuredClone(this.bedList);
  }
  staff() {
    return [
      { badge: 'N100', name: 'Nurse Ada', pin: '1234' },
      { badge: 'N200', name: 'Nurse Bo', pin: '987654' },
    ];
  }
  deviceStats(): DeviceStats[] {
    return this.stats.map((s) => ({ ...s }));
  }
  health(): GatewayHealth {
    return {
      time: Date.now(),
      uptimeSeconds: 5,
      disk: { path: '/data', freeBytes: 5e9, totalBytes: 1e10 },
      memory: { rssBytes: 1e8, heapUsedBytes: 5e7, systemFreeBytes: 1e9, systemTotalBytes: 4e9 },
      cloud: {
        connected: false,
        lastConnectedAt: null,
        lastError: 'ECONNREFUSED',
        backlog: {
          alarms: { lastSeq: 3, ackedUpTo: 3, ackedAt: Date.now() },
          readings: { lastSeq: 40, ackedUpTo: 12, ackedAt: null },
        },
      },
      clock: { now: Date.now(), skewMs: null },
    };
  }
  onChange(listener: () => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  changed(): void {
    for (const l of this.listeners) l();
  }
}

interface SseEvent {
  event: string;
  data: string;
}

/** Reads an SSE stream over a real socket and collects its events. */
class SseClient {
  readonly events: SseEvent[] = [];
  private readonly abort = new AbortController();
  private done: Promise<void> = Promise.resolve();

  async open(url: string): Promise<Response> {
    const response = await fetch(url, { signal: this.abort.signal });
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    this.done = (async () => {
      let buffer = '';
      try {
        for (;;) {
          const { done, value } = await reader.read();
          if (done) return;
          buffer += value;
          let end = buffer.indexOf('\n\n');
          while (end >= 0) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            const event = /^event: (.*)$/m.exec(block)?.[1];
            const data = block
              .split('\n')
              .filter((l) => l.startsWith('data: '))
              .map((l) => l.slice(6))
              .join('\n');
            if (event) this.events.push({ event, data });
            end = buffer.indexOf('\n\n');
          }
        }
      } catch {
        // aborted by close()
      }
    })();
    return response;
  }
  snapshots() {
    return this.events.filter((e) => e.event === 'snapshot').map((e) => JSON.parse(e.data));
  }
  async close(): Promise<void> {
    this.abort.abort();
    await this.done;
  }
}

let ward: FakeWard;
let server: ServerType;
let base: string;
const clients: SseClient[] = [];

test.before.each(async () => {
  ward = new FakeWard();
  const app = uiApp(ward, {
    timing: { minIntervalMs: 100, alarmDelayMs: 50, heartbeatMs: 150 },
    lockout: { maxFailures: 5, windowMs: 60_000, lockMs: 60_000 },
  });
  await new Promise<void>((resolve) => {
    server = serve({ fetch: app.fetch, hostname: '127.0.0.1', port: 0 }, (info) => {
      base = `http://127.0.0.1:${(info as AddressInfo).port}`;
      resolve();
    });
  });
});

test.after.each(async () => {
  for (const c of clients.splice(0)) await c.close();
  await new Promise<void>((resolve) => {
    server.close(() => resolve());
    // SSE streams are long-lived: end whatever is still open.
    (server as Server).closeAllConnections();
  });
});

const post = (path: string, body: unknown) =>
  fetch(`${base}${path}`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });

async function live(): Promise<SseClient> {
  const client = new SseClient();
  clients.push(client);
  const response = await client.open(`${base}/api/live`);
  assert.is(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/event-stream/);
  return client;
}

test('GET / serves the nurse screen, no-cache, referencing only local assets', async () => {
  const response = await fetch(`${base}/`);
  assert.is(response.status, 200);
  assert.match(response.headers.get('content-type') ?? '', /^text\/html; charset=utf-8/);
  assert.is(response.headers.get('cache-control'), 'no-cache');
  assert.match(response.headers.get('content-security-policy') ?? '', /default-src 'self'/);
  const html = await response.text();
  assert.match(html, /data-testid="connection-banner"/);
  assert.match(html, /data-testid="pin-dialog"/);
  const refs = [...html.matchAll(/(?:src|href)="([^"]+)"/g)].map((m) => m[1]);
  assert.ok(refs.includes('/ui/nurse.js'));
  for (const ref of refs) {
    assert.ok(ref.startsWith('/'), `${ref} is local`);
    assert.is((await fetch(`${base}${ref}`)).status, 200, ref);
  }
  const biomed = await fetch(`${base}/biomed`);
  assert.is(biomed.status, 200);
  assert.match(await biomed.text(), /\/ui\/biomed\.js/);
});

test('no static file loads anything from outside the gateway', async () => {
  const files = await readdir(STATIC_DIR);
  assert.ok(files.length >= 8, files.join(','));
  for (const file of files) {
    // The SVG namespace is a name, not something fetched.
    const text = (await readFile(join(STATIC_DIR, file), 'utf8')).replace(
      'xmlns="http://www.w3.org/2000/svg"',
      '',
    );
    assert.not.match(text, /https?:\/\//, `${file} has an absolute URL`);
    assert.not.match(text, /@import|url\(/, `${file} pulls in CSS from elsewhere`);
  }
});

test('static assets: right content types, every JS import resolves, traversal refused', async () => {
  const types: Record<string, RegExp> = {
    js: /^text\/javascript; charset=utf-8/,
    css: /^text\/css; charset=utf-8/,
    html: /^text\/html; charset=utf-8/,
    svg: /^image\/svg\+xml/,
  };
  for (const file of await readdir(STATIC_DIR)) {
    const response = await fetch(`${base}/ui/${file}`);
    assert.is(response.status, 200, file);
    const ext = file.split('.').pop() ?? '';
    assert.match(response.headers.get('content-type') ?? '', types[ext], file);
    assert.is(response.headers.get('x-content-type-options'), 'nosniff');
    const text = await response.text();
    if (ext === 'js')
      for (const [, target] of text.matchAll(/from '(\.\/[^']+)'/g)) {
        const imported = await fetch(`${base}/ui/${target.slice(2)}`);
        assert.is(imported.status, 200, `${file} imports ${target}`);
      }
    if (ext !== 'html') {
      assert.match(response.headers.get('cache-control') ?? '', /max-age=60/);
      const etag = response.headers.get('etag') ?? '';
      const again = await fetch(`${base}/ui/${file}`, { headers: { 'if-none-match': etag } });
      assert.is(again.status, 304, file);
    }
  }
  assert.is((await fetch(`${base}/ui/..%2Froutes.ts`)).status, 404);
  assert.is((await fetch(`${base}/ui/nope.js`)).status, 404);
});

test('SSE: a snapshot at once, a new one on a vitals change, heartbeats', async () => {
  ward.alarms.raise({ alarmId: 'a1', bedId: 'bed-1' });
  const client = await live();
  const first = await waitFor(() => client.snapshots()[0], { what: 'first snapshot' });
  assert.is(first.gatewayId, 'gw-test');
  assert.is(first.beds.length, 2);
  assert.is(first.beds[0].vitals.MDC_ECG_HEART_RATE.value, 72);
  assert.equal(
    first.alarms.map((a: ActiveAlarm) => a.alarmId),
    ['a1'],
  );
  assert.type(first.time, 'number');

  ward.bedList[0].vitals.MDC_ECG_HEART_RATE.value = 130;
  ward.changed();
  await waitFor(
    () => client.snapshots().some((s) => s.beds[0].vitals.MDC_ECG_HEART_RATE.value === 130),
    { timeoutMs: 2000, what: 'snapshot with HR 130' },
  );
  await waitFor(() => client.events.filter((e) => e.event === 'heartbeat').length >= 2, {
    timeoutMs: 2000,
    what: 'two heartbeats',
  });
  const beat = JSON.parse(client.events.find((e) => e.event === 'heartbeat')!.data);
  assert.type(beat.time, 'number');
});

test('SSE: an alarm change is not held back by the vitals throttle', async () => {
  // A long throttle makes the difference visible: vitals wait for it, an alarm goes at 50 ms.
  const slow = uiApp(ward, {
    timing: { minIntervalMs: 1500, alarmDelayMs: 50, heartbeatMs: 5000 },
  });
  const other = await new Promise<ServerType>((resolve) => {
    const s = serve({ fetch: slow.fetch, hostname: '127.0.0.1', port: 0 }, () => resolve(s));
  });
  const client = new SseClient();
  try {
    await client.open(`http://127.0.0.1:${(other.address() as AddressInfo).port}/api/live`);
    await waitFor(() => client.snapshots().length === 1, { what: 'first snapshot' });
    ward.changed();
    await waitFor(() => client.snapshots().length === 2, { what: 'vitals snapshot' });
    const start = Date.now();
    ward.changed();
    ward.alarms.raise({ alarmId: 'a2', bedId: 'bed-2', priority: 'medium' });
    await waitFor(() => client.snapshots().some((s) => s.alarms.length === 1), {
      timeoutMs: 1000,
      what: 'snapshot with the alarm',
    });
    assert.ok(Date.now() - start < 700, `alarm took ${Date.now() - start} ms`);
    // The next vitals-only change waits out the throttle.
    const count = client.snapshots().length;
    const vitalsAt = Date.now();
    ward.changed();
    await waitFor(() => client.snapshots().length > count, { what: 'throttled snapshot' });
    assert.ok(Date.now() - vitalsAt >= 1200, `vitals came after ${Date.now() - vitalsAt} ms`);
  } finally {
    await client.close();
    await new Promise<void>((resolve) => {
      other.close(() => resolve());
      (other as Server).closeAllConnections();
    });
  }
});

test('SSE: a burst of changes is sent at most 10 times a second', async () => {
  const client = await live();
  await waitFor(() => client.snapshots().length === 1, { what: 'first snapshot' });
  const before = client.snapshots().length;
  const start = Date.now();
  const burst = setInterval(() => ward.changed(), 2);
  await waitFor(() => Date.now() - start >= 500, { what: '500 ms of changes' });
  clearInterval(burst);
  const during = client.snapshots().length - before;
  assert.ok(during >= 3 && during <= 7, `${during} snapshots in 500 ms`);
});

test('SSE: listeners are removed when the last client leaves', async () => {
  const a = await live();
  const b = await live();
  await waitFor(() => a.snapshots().length && b.snapshots().length, { what: 'both snapshots' });
  assert.is(ward.listeners.size, 1);
  await a.close();
  ward.changed();
  await waitFor(() => b.snapshots().length >= 2, { what: 'b still served' });
  assert.is(ward.listeners.size, 1);
  await b.close();
  await waitFor(() => ward.listeners.size === 0, { what: 'ward listener removed' });
});

test('acknowledge with the right badge and PIN records the badge as actor', async () => {
  ward.alarms.raise({ alarmId: 'a1', bedId: 'bed-1' });
  const client = await live();
  await waitFor(() => client.snapshots().length, { what: 'first snapshot' });
  const response = await post('/api/alarms/a1/ack', { badge: 'N100', pin: '1234' });
  assert.is(response.status, 200);
  const body = await response.json();
  assert.is(body.alarms[0].alarmId, 'a1');
  assert.equal(body.alarms[0].acknowledged.by, 'N100');
  assert.equal(body.actor, { badge: 'N100', name: 'Nurse Ada' });
  assert.equal(ward.alarms.actions, [{ action: 'ack', id: 'a1', actor: 'N100' }]);
  const acked = await waitFor(
    () => client.snapshots().find((s) => s.alarms[0]?.acknowledged?.by === 'N100'),
    { what: 'snapshot showing the ack' },
  );
  assert.equal(acked.staffNames, { N100: 'Nurse Ada' });
});

test('silence one alarm and a whole bed', async () => {
  ward.alarms.raise({ alarmId: 'a1', bedId: 'bed-1' });
  ward.alarms.raise({ alarmId: 'a2', bedId: 'bed-1', priority: 'low' });
  const one = await post('/api/alarms/a2/silence', { badge: 'N200', pin: '987654' });
  assert.is(one.status, 200);
  assert.equal(
    (await one.json()).alarms.map((a: ActiveAlarm) => a.alarmId),
    ['a2'],
  );
  const bed = await post('/api/beds/bed-1/silence', { badge: 'N200', pin: '987654' });
  assert.is(bed.status, 200);
  const body = await bed.json();
  assert.equal(body.alarms.map((a: ActiveAlarm) => a.silencedBy).sort(), ['N200', 'N200']);
  assert.equal(ward.alarms.actions.at(-1), { action: 'silence', id: 'bed-1', actor: 'N200' });
  assert.is((await post('/api/beds/bed-9/silence', { badge: 'N200', pin: '987654' })).status, 404);
});

test('wrong PIN → 401, five failures lock the badge out → 429', async () => {
  ward.alarms.raise({ alarmId: 'a1', bedId: 'bed-1' });
  for (let i = 0; i < 5; i++) {
    const response = await post('/api/alarms/a1/ack', { badge: 'N100', pin: '0000' });
    assert.is(response.status, 401, `attempt ${i + 1}`);
    assert.type((await response.json()).error, 'string');
  }
  const locked = await post('/api/alarms/a1/ack', { badge: 'N100', pin: '1234' });
  assert.is(locked.status, 429);
  assert.match((await locked.json()).error, /locked/);
  assert.ok(Number(locked.headers.get('retry-after')) > 0);
  assert.equal(ward.alarms.actions, []);
  // Another nurse is not locked out by it.
  assert.is((await post('/api/alarms/a1/ack', { badge: 'N200', pin: '987654' })).status, 200);
  // A badge and a PIN that belong to different people is no match.
  assert.is((await post('/api/alarms/a1/silence', { badge: 'N200', pin: '1234' })).status, 401);
});

test('unknown alarm → 404, malformed body → 400', async () => {
  const unknown = await post('/api/alarms/nope/ack', { badge: 'N100', pin: '1234' });
  assert.is(unknown.status, 404);
  assert.match((await unknown.json()).error, /nope/);
  assert.is((await post('/api/alarms/nope/silence', { badge: 'N100', pin: '1234' })).status, 404);
  const notJson = await fetch(`${base}/api/alarms/a1/ack`, { method: 'POST', body: 'x' });
  assert.is(notJson.status, 400);
  assert.is((await post('/api/alarms/a1/ack', { badge: 'N100' })).status, 400);
  assert.is((await post('/api/alarms/a1/ack', { badge: 'N100', pin: 1234 })).status, 400);
});

test('/api/biomed: devices with bed and messages/s, gateway health', async () => {
  const first = await (await fetch(`${base}/api/biomed`)).json();
  assert.is(first.devices.length, 1);
  const device = first.devices[0];
  assert.is(device.deviceId, 'mon-1');
  assert.is(device.bedId, 'bed-1');
  assert.is(device.messagesPerSecond, null);
  assert.is(device.lastError, 'bad OBX');
  assert.is(first.health.cloud.lastError, 'ECONNREFUSED');
  assert.is(first.health.cloud.backlog.readings.lastSeq, 40);
  assert.is(first.health.disk.totalBytes, 1e10);

  ward.stats[0].messages = 30;
  await waitFor(() => Date.now() - first.time >= 20, { what: 'time to pass' });
  const second = await (await fetch(`${base}/api/biomed`)).json();
  assert.ok(second.devices[0].messagesPerSecond > 0, String(second.devices[0].messagesPerSecond));
});

test.run();
