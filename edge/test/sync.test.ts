import { mkdtempSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  ALL_UP_PATTERN,
  type DeviceStatus,
  downTopic,
  type GatewayConfigDown,
  generateSigningKeyPair,
  initCrypto,
  openEnvelope,
  parseTopic,
  type ReadingInput,
  verifyStatus,
} from '@wardgate/shared';
import { waitFor } from '@wardgate/shared/testing';
import { Aedes } from 'aedes';
import mqtt, { type MqttClient } from 'mqtt';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { EdgeStore } from '../src/store/store.ts';
import { CloudSync } from '../src/sync/sync.ts';

const GATEWAY = 'ward-t';
await initCrypto();
const keys = generateSigningKeyPair();
const dir = mkdtempSync(join(tmpdir(), 'wardgate-sync-'));

/** A real aedes broker on loopback that can be stopped and started again on the same port. */
class TestBroker {
  port = 0;
  private aedes: Aedes | null = null;
  private server: Server | null = null;
  async start(): Promise<void> {
    this.aedes = await Aedes.createBroker();
    const aedes = this.aedes;
    this.server = createServer((socket) => aedes.handle(socket));
    await new Promise<void>((resolve) => this.server?.listen(this.port, '127.0.0.1', resolve));
    this.port = (this.server.address() as { port: number }).port;
  }
  async stop(): Promise<void> {
    const { aedes, server } = this;
    this.aedes = null;
    this.server = null;
    await new Promise<void>((resolve) => aedes?.close(() => resolve()));
    await new Promise<void>((resolve) => server?.close(() => resolve()) ?? resolve());
  }
}

/**
 * Plays the cloud: verifies every envelope like the real ingest does, remembers the seqs it
 * holds, and acks the highest contiguous seq (unless told to stay silent).
 */
class FakeCloud {
  readonly held = { alarms: new Set<number>(), readings: new Set<number>() };
  readonly arrivals: string[] = [];
  readonly statuses: unknown[] = [];
  acking = true;
  envelopes = 0;
  private client: MqttClient | null = null;
  async connect(port: number) {
    this.client = await mqtt.connectAsync(`mqtt://127.0.0.1:${port}`, {
      clientId: `cloud-${Date.now()}`,
      reconnectPeriod: 100,
    });
    this.client.on('message', (topic, payload) => this.receive(topic, payload));
    await this.client.subscribeAsync(ALL_UP_PATTERN, { qos: 1 });
  }
  private receive(topic: string, payload: Buffer) {
    const parsed = parseTopic(topic);
    if (parsed?.direction !== 'up') return;
    if (parsed.channel === 'status') {
      this.statuses.push(JSON.parse(payload.toString()));
      return;
    }
    const opened = openEnvelope(
      payload,
      { gatewayId: parsed.gatewayId, stream: parsed.channel },
      () => keys.publicKey,
    );
    assert.ok(opened.ok, 'the envelope verifies');
    if (!opened.ok) return;
    this.envelopes++;
    const { envelope } = opened;
    this.arrivals.push(envelope.stream);
    if (!this.acking) return;
    const held = this.held[envelope.stream];
    for (const r of envelope.records) held.add(r.seq);
    let upTo = 0;
    while (held.has(upTo + 1)) upTo++;
    this.client?.publish(
      downTopic(parsed.gatewayId, 'ack'),
      JSON.stringify({ stream: envelope.stream, upTo }),
      { qos: 1 },
    );
  }
  async publishConfig(config: GatewayConfigDown) {
    await this.client?.publishAsync(downTopic(GATEWAY, 'config'), JSON.stringify(config), {
      qos: 1,
      retain: true,
    });
  }
  async close() {
    await this.client?.endAsync(true);
  }
}

let nextTime = 1_700_000_000_000;
const readings = (count: number): ReadingInput[] =>
  Array.from({ length: count }, () => {
    const time = nextTime++;
    return {
      deviceId: 'bed-1-monitor',
      bedId: 'bed-1',
      parameter: 'MDC_ECG_HEART_RATE',
      value: 70,
      unit: '/min',
      deviceTime: time,
      gatewayTime: time,
      quality: 'valid',
    };
  });
const alarm = (transition: 'raised' | 'cleared') => ({
  alarmId: 'bed-1-vent.X',
  deviceId: 'bed-1-vent',
  bedId: 'bed-1',
  source: 'device' as const,
  condition: 'MDC_EVT_HI',
  priority: 'high' as const,
  kind: 'physiological' as const,
  transition,
  time: nextTime++,
});

function setup(options: { ackTimeoutMs?: number; devices?: DeviceStatus[] } = {}) {
  const store = new EdgeStore(join(dir, `${Math.random().toString(36).slice(2)}.sqlite`));
  const make = (port: number) =>
    new CloudSync(store, {
      gatewayId: GATEWAY,
      mqttUrl: `mqtt://127.0.0.1:${port}`,
      username: GATEWAY,
      password: 'unused-by-the-test-broker',
      secretKey: keys.secretKey,
      batchSize: { alarms: 10, readings: 100 },
      readingsWindowMs: 20,
      ackTimeoutMs: options.ackTimeoutMs ?? 15_000,
      reconnectPeriodMs: 100,
      devices: () => options.devices ?? [],
    });
  return { store, make };
}

const contiguous = (set: Set<number>, n: number) =>
  set.size === n && [...set].every((s) => s >= 1 && s <= n);

test('a backlog drains in order with alarms first, every record acked exactly up to the last seq', async () => {
  const broker = new TestBroker();
  await broker.start();
  const cloud = new FakeCloud();
  await cloud.connect(broker.port);
  const { store, make } = setup();
  store.appendReadings(readings(1000));
  store.appendAlarmEvents([alarm('raised')]);
  const sync = make(broker.port);
  try {
    sync.start();
    await waitFor(
      () => store.cursor('readings').ackedUpTo === 1000 && store.cursor('alarms').ackedUpTo === 1,
      { what: 'the backlog acked' },
    );
    assert.is(cloud.arrivals[0], 'alarms', 'the alarm went out before any reading');
    assert.ok(contiguous(cloud.held.readings, 1000));
    assert.is(store.backlog('readings'), 0);
  } finally {
    await sync.stop();
    await cloud.close();
    await broker.stop();
    store.close();
  }
});

test('a broker outage loses nothing: records stored while down are sent after it returns, no gap', async () => {
  const broker = new TestBroker();
  await broker.start();
  const cloud = new FakeCloud();
  await cloud.connect(broker.port);
  const { store, make } = setup();
  const sync = make(broker.port);
  try {
    sync.start();
    store.appendReadings(readings(50));
    await waitFor(() => store.cursor('readings').ackedUpTo === 50, { what: 'first batch acked' });
    await cloud.close();
    await broker.stop();
    await waitFor(() => !sync.connected, { what: 'the sync to notice the outage' });
    store.appendReadings(readings(300));
    store.appendAlarmEvents([alarm('raised'), alarm('cleared')]);
    assert.is(store.backlog('readings'), 300, 'nothing is forgotten while the cloud is away');
    await broker.start();
    const back = new FakeCloud();
    await back.connect(broker.port);
    // The new cloud client only knows what it receives from now on: seed it with what was acked.
    for (let s = 1; s <= 50; s++) back.held.readings.add(s);
    await waitFor(
      () => store.cursor('readings').ackedUpTo === 350 && store.cursor('alarms').ackedUpTo === 2,
      { what: 'the backlog drained after the outage' },
    );
    assert.ok(contiguous(back.held.readings, 350));
    assert.ok(contiguous(back.held.alarms, 2));
    await back.close();
  } finally {
    await sync.stop();
    await broker.stop();
    store.close();
  }
});

test('records in flight with no ack are sent again after the ack timeout', async () => {
  const broker = new TestBroker();
  await broker.start();
  const cloud = new FakeCloud();
  await cloud.connect(broker.port);
  cloud.acking = false;
  const { store, make } = setup({ ackTimeoutMs: 200 });
  const sync = make(broker.port);
  try {
    sync.start();
    store.appendReadings(readings(5));
    await waitFor(() => cloud.envelopes >= 1, { what: 'the first send' });
    cloud.acking = true;
    await waitFor(() => store.cursor('readings').ackedUpTo === 5, { what: 'the resend acked' });
    assert.ok(cloud.envelopes >= 2, 'the envelope was sent again');
    assert.ok(sync.syncStats().resends >= 1);
  } finally {
    await sync.stop();
    await cloud.close();
    await broker.stop();
    store.close();
  }
});

test('the retained status is signed; the retained config comes down to the gateway', async () => {
  const broker = new TestBroker();
  await broker.start();
  const cloud = new FakeCloud();
  await cloud.connect(broker.port);
  const config: GatewayConfigDown = {
    v: 1,
    updatedAt: 5,
    beds: [{ bedId: 'bed-1', displayName: 'Doe, J.' }],
  };
  await cloud.publishConfig(config);
  const device: DeviceStatus = {
    deviceId: 'bed-1-monitor',
    bedId: 'bed-1',
    state: 'online',
    lastContact: 1,
    error: null,
  };
  const { store, make } = setup({ devices: [device] });
  const sync = make(broker.port);
  try {
    const received = new Promise<GatewayConfigDown>((resolve) => sync.once('config', resolve));
    sync.start();
    assert.equal(await received, config);
    const status = await waitFor(
      () => cloud.statuses[0] as { online: boolean; devices: DeviceStatus[] } | undefined,
      { what: 'a status snapshot' },
    );
    assert.ok(verifyStatus(status, keys.publicKey));
    assert.is(status.online, true);
    assert.equal(status.devices, [device]);
  } finally {
    await sync.stop();
    await cloud.close();
    await broker.stop();
    store.close();
  }
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
