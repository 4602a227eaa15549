import {
  type Ack,
  downTopic,
  encodeEnvelope,
  generateSigningKeyPair,
  initCrypto,
  type SigningKeyPair,
  sealEnvelope,
  sealStatus,
  upTopic,
} from '@wardgate/shared';
import { waitFor } from '@wardgate/shared/testing';
import { asc, eq } from 'drizzle-orm';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Database } from '../src/db/database.ts';
import {
  alarmEvents,
  gatewayStatus,
  ingestCursors,
  ingestRejections,
  readings,
} from '../src/db/schema.ts';
import { ResourceStore } from '../src/fhir/store/resource-store.ts';
import { type MqttSide, startMqttSide } from '../src/ingest/service.ts';
import {
  alarmEvent,
  connectGateway,
  readings as makeReadings,
  type TestGateway,
} from './support/gateway-client.ts';
import { savePatients } from './support/patients.ts';
import { testDatabaseTargets } from './support/test-database.ts';

const GW = 'gw-a';
const PASSWORD = 'secret-a';
/** Patient p1 is in bed-1 from T0 on. */
const T0 = 1_700_000_000_000;

interface Context {
  database: Database;
  side: MqttSide;
  keys: SigningKeyPair;
  gateway: TestGateway;
}

for (const target of testDatabaseTargets()) {
  const test = suite<Context>(`ingest (${target.name})`);
  const acksTopic = downTopic(GW, 'ack');

  test.before(async (ctx) => {
    await initCrypto();
    ctx.database = await target.open();
    ctx.side = await startMqttSide({ db: ctx.database.db, host: '127.0.0.1', port: 0 });
    ctx.keys = generateSigningKeyPair();
    await ctx.side.addGateway({ id: GW, publicKey: ctx.keys.publicKey, password: PASSWORD });
    await savePatients(ctx.database.db, {
      id: 'p1',
      mrn: 'MRN-1',
      family: 'Doe',
      given: 'Jane',
      gender: 'female',
      birthDate: '1950-01-01',
    });
    await ctx.side.assignBed({
      gatewayId: GW,
      bedId: 'bed-1',
      patientId: 'p1',
      displayName: 'Jane D.',
      at: T0,
    });
    ctx.gateway = await connectGateway(ctx.side.broker.url, GW, PASSWORD);
    await ctx.gateway.client.subscribeAsync(downTopic(GW, 'ack'), { qos: 1 });
  });

  test.after(async (ctx) => {
    await ctx.gateway?.client.endAsync();
    await ctx.side?.stop();
    await ctx.database?.close();
  });

  const acks = (ctx: Context) => ctx.gateway.received<Ack>(acksTopic);
  /** The count-th ack, without its `time` once that is checked to be the cloud's clock now. */
  const waitForAck = async (ctx: Context, count: number) => {
    const { time, ...ack } = await waitFor(
      () => acks(ctx).length >= count && acks(ctx)[count - 1],
      {
        what: `ack #${count}`,
      },
    );
    assert.ok(
      typeof time === 'number' && Math.abs(Date.now() - time) < 60_000,
      'ack carries the cloud time',
    );
    return ack;
  };

  test('a signed readings envelope is stored with the bed patient and acked', async (ctx) => {
    const records = [
      ...makeReadings(1, 2, { deviceTime: T0 + 1000 }),
      ...makeReadings(3, 1, { bedId: 'bed-2', deviceTime: T0 + 1000 }),
      ...makeReadings(4, 1, { deviceTime: T0 - 60_000 }),
    ];
    const envelope = sealEnvelope(GW, 'readings', records, ctx.keys.secretKey);
    await ctx.gateway.client.publishAsync(upTopic(GW, 'readings'), encodeEnvelope(envelope), {
      qos: 1,
    });

    assert.equal(await waitForAck(ctx, 1), { stream: 'readings', upTo: 4 });
    const rows = await ctx.database.db.select().from(readings).orderBy(asc(readings.seq));
    assert.equal(
      rows.map((r) => r.seq),
      [1, 2, 3, 4],
    );
    assert.equal(
      rows.map((r) => r.patientId),
      ['p1', 'p1', null, null],
      'bed-1 after T0 → p1; bed-2 empty; before T0 nobody',
    );
    assert.is(rows[0].gatewayId, GW);
    assert.is(rows[0].parameter, 'MDC_ECG_HEART_RATE');
    assert.is(rows[0].deviceTime, T0 + 1000);
    assert.is(ctx.side.ingest.counters.records, 4);
  });

  test('the same envelope again stores nothing new and is acked again', async (ctx) => {
    const records = [
      ...makeReadings(1, 2, { deviceTime: T0 + 1000 }),
      ...makeReadings(3, 1, { bedId: 'bed-2', deviceTime: T0 + 1000 }),
      ...makeReadings(4, 1, { deviceTime: T0 - 60_000 }),
    ];
    const envelope = sealEnvelope(GW, 'readings', records, ctx.keys.secretKey);
    await ctx.gateway.client.publishAsync(upTopic(GW, 'readings'), encodeEnvelope(envelope), {
      qos: 1,
    });

    assert.equal(await waitForAck(ctx, 2), { stream: 'readings', upTo: 4 });
    assert.is((await ctx.database.db.select().from(readings)).length, 4);
    assert.is(ctx.side.ingest.counters.duplicates, 4);
  });

  test('the cursor does not pass a lost envelope, and catches up when it is resent', async (ctx) => {
    const send = (first: number, count: number) =>
      ctx.gateway.client.publishAsync(
        upTopic(GW, 'readings'),
        encodeEnvelope(
          sealEnvelope(
            GW,
            'readings',
            makeReadings(first, count, { deviceTime: T0 + 5000 }),
            ctx.keys.secretKey,
          ),
        ),
        { qos: 1 },
      );
    await send(7, 2); // 5..6 lost
    assert.equal(await waitForAck(ctx, 3), { stream: 'readings', upTo: 4 });
    await send(5, 2);
    assert.equal(await waitForAck(ctx, 4), { stream: 'readings', upTo: 6 });
    await send(7, 2);
    assert.equal(await waitForAck(ctx, 5), { stream: 'readings', upTo: 8 });
    const [cursor] = await ctx.database.db
      .select()
      .from(ingestCursors)
      .where(eq(ingestCursors.stream, 'readings'));
    assert.is(cursor.ackedUpTo, 8);
    assert.is((await ctx.database.db.select().from(readings)).length, 8);
  });

  test('an alarms envelope is stored in alarm_events and acked on its own stream', async (ctx) => {
    const envelope = sealEnvelope(
      GW,
      'alarms',
      [alarmEvent(1, { time: T0 + 2000 }), alarmEvent(2, { bedId: 'bed-9', time: T0 + 3000 })],
      ctx.keys.secretKey,
    );
    await ctx.gateway.client.publishAsync(upTopic(GW, 'alarms'), encodeEnvelope(envelope), {
      qos: 1,
    });

    assert.equal(await waitForAck(ctx, 6), { stream: 'alarms', upTo: 2 });
    const rows = await ctx.database.db.select().from(alarmEvents).orderBy(asc(alarmEvents.seq));
    assert.equal(
      rows.map((r) => [r.seq, r.alarmId, r.patientId]),
      [
        [1, 'alarm-1', 'p1'],
        [2, 'alarm-2', null],
      ],
    );
    assert.is(rows[0].priority, 'high');
    assert.is(rows[0].limit, 120);
    assert.is(rows[0].actor, null);
    // Each alarm's FHIR Flag was written in the same transaction.
    const store = new ResourceStore(ctx.database.db);
    const flag = await store.read('Flag', `${GW}.alarm-1`);
    assert.is(flag?.resource?.status, 'active');
    assert.equal(flag?.resource?.subject, { reference: 'Patient/p1' });
    const onEmptyBed = await store.read('Flag', `${GW}.alarm-2`);
    assert.is((onEmptyBed?.resource?.subject as { type?: string } | undefined)?.type, 'Location');
  });

  test('bad signature, foreign gateway and malformed JSON are rejected, stored as such, not acked', async (ctx) => {
    const topic = upTopic(GW, 'readings');
    const impostor = generateSigningKeyPair();
    const badSignature = sealEnvelope(GW, 'readings', makeReadings(9, 1), impostor.secretKey);
    const foreign = sealEnvelope('gw-b', 'readings', makeReadings(9, 1), ctx.keys.secretKey);
    const publish = (payload: Buffer | string) =>
      ctx.gateway.client.publishAsync(topic, payload, { qos: 1 });
    await publish(encodeEnvelope(badSignature));
    await publish(encodeEnvelope(foreign));
    await publish('{"v":1,');
    // A good envelope after them on the same stream: its ack proves the bad ones were handled.
    await publish(
      encodeEnvelope(
        sealEnvelope(GW, 'readings', makeReadings(9, 1, { deviceTime: T0 }), ctx.keys.secretKey),
      ),
    );
    assert.equal(await waitForAck(ctx, 7), { stream: 'readings', upTo: 9 });
    assert.is(acks(ctx).length, 7, 'no ack for a rejected envelope');

    const rejections = await ctx.database.db
      .select()
      .from(ingestRejections)
      .orderBy(asc(ingestRejections.id));
    assert.equal(
      rejections.map((r) => r.code),
      ['bad-signature', 'topic-mismatch', 'malformed-json'],
    );
    assert.ok(rejections.every((r) => r.gatewayId === GW && r.topic === topic));
    assert.equal(ctx.side.ingest.counters.rejections, {
      'bad-signature': 1,
      'topic-mismatch': 1,
      'malformed-json': 1,
    });
    assert.equal(
      (await ctx.database.db.select().from(readings)).map((r) => r.seq).sort((a, b) => a - b),
      [1, 2, 3, 4, 5, 6, 7, 8, 9],
    );
  });

  test('a signed status snapshot is stored; a forged one is rejected', async (ctx) => {
    const topic = upTopic(GW, 'status');
    const status = sealStatus(
      {
        gatewayId: GW,
        online: true,
        time: T0,
        devices: [
          { deviceId: 'mon-1', bedId: 'bed-1', state: 'online', lastContact: T0, error: null },
        ],
      },
      ctx.keys.secretKey,
    );
    await ctx.gateway.client.publishAsync(topic, JSON.stringify(status), { qos: 1, retain: true });
    const row = await waitFor(async () => (await ctx.database.db.select().from(gatewayStatus))[0], {
      what: 'gateway_status row',
    });
    assert.is(row.gatewayId, GW);
    assert.is(row.online, true);
    assert.equal(row.snapshot, status);

    const forged = { ...status, online: false };
    await ctx.gateway.client.publishAsync(topic, JSON.stringify(forged), { qos: 1, retain: true });
    await waitFor(() => ctx.side.ingest.counters.rejections['bad-signature'] === 2, {
      what: 'forged status rejected',
    });
    const [still] = await ctx.database.db.select().from(gatewayStatus);
    assert.is(still.online, true);
  });

  test.run();
}
