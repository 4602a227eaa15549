import {
  downTopic,
  encodeEnvelope,
  GatewayConfigDown,
  gatewayDownPattern,
  generateSigningKeyPair,
  initCrypto,
  type SigningKeyPair,
  sealEnvelope,
  upTopic,
} from '@wardgate/shared';
import { waitFor } from '@wardgate/shared/testing';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import type { Database } from '../src/db/database.ts';
import { readings } from '../src/db/schema.ts';
import { type MqttSide, startMqttSide } from '../src/ingest/service.ts';
import {
  connectGateway,
  readings as makeReadings,
  type TestGateway,
} from './support/gateway-client.ts';
import { savePatients } from './support/patients.ts';
import { testDatabaseTargets } from './support/test-database.ts';

interface Context {
  database: Database;
  side: MqttSide;
  keysB: SigningKeyPair;
  open: TestGateway[];
}

const T0 = 1_700_000_000_000;

async function refusalCode(connecting: Promise<TestGateway>): Promise<number> {
  try {
    const gateway = await connecting;
    await gateway.client.endAsync();
  } catch (error) {
    return (error as { code: number }).code;
  }
  throw new Error('the broker accepted the connection');
}

/** The QoS the broker granted, or its refusal code (128): mqtt.js rejects on a refusal. */
async function grantOf(gateway: TestGateway, topic: string): Promise<number> {
  try {
    const [grant] = await gateway.client.subscribeAsync(topic, { qos: 1 });
    return grant.qos;
  } catch (error) {
    const suback = (error as { packet?: { granted: number[] } }).packet;
    if (!suback) throw error;
    return suback.granted[0];
  }
}

for (const target of testDatabaseTargets()) {
  const test = suite<Context>(`broker (${target.name})`);

  test.before(async (ctx) => {
    await initCrypto();
    ctx.open = [];
    ctx.database = await target.open();
    ctx.side = await startMqttSide({ db: ctx.database.db, host: '127.0.0.1', port: 0 });
    ctx.keysB = generateSigningKeyPair();
    await ctx.side.addGateway({
      id: 'gw-a',
      publicKey: generateSigningKeyPair().publicKey,
      password: 'pw-a',
    });
    await ctx.side.addGateway({ id: 'gw-b', publicKey: ctx.keysB.publicKey, password: 'pw-b' });
    await ctx.side.addGateway({
      id: 'gw-r',
      publicKey: generateSigningKeyPair().publicKey,
      password: 'pw-r',
    });
    await savePatients(
      ctx.database.db,
      ['p1', 'p2'].map((id, i) => ({
        id,
        mrn: `MRN-${i}`,
        family: 'Doe',
        given: i === 0 ? 'Jane' : 'John',
        gender: i === 0 ? 'female' : 'male',
        birthDate: '1950-01-01',
      })),
    );
    await ctx.side.assignBed({
      gatewayId: 'gw-a',
      bedId: 'bed-1',
      patientId: 'p1',
      displayName: 'Jane D.',
      at: T0,
    });
  });

  test.after(async (ctx) => {
    for (const gateway of ctx.open ?? []) await gateway.client.endAsync(true);
    await ctx.side?.stop();
    await ctx.database?.close();
  });

  const connect = async (ctx: Context, id: string, password: string) => {
    const gateway = await connectGateway(ctx.side.broker.url, id, password);
    ctx.open.push(gateway);
    return gateway;
  };

  test('a wrong password or an unknown gateway is refused with code 4', async (ctx) => {
    assert.is(await refusalCode(connectGateway(ctx.side.broker.url, 'gw-a', 'wrong')), 4);
    assert.is(await refusalCode(connectGateway(ctx.side.broker.url, 'gw-x', 'pw-a')), 4);
    const good = await connect(ctx, 'gw-a', 'pw-a');
    assert.ok(good.client.connected);
    assert.is(ctx.side.broker.counters.connectionsRefused, 2);
  });

  test("a gateway using another gateway's client id is refused with code 2", async (ctx) => {
    const b = await connect(ctx, 'gw-b', 'pw-b');
    const takeover = connectGateway(ctx.side.broker.url, 'gw-a', 'pw-a', { clientId: 'gw-b' });
    assert.is(await refusalCode(takeover), 2);
    assert.ok(b.client.connected, 'gw-b keeps its connection');
    const own = await connect(ctx, 'gw-a', 'pw-a');
    assert.ok(own.client.connected);
  });

  test('revoking a gateway closes its connection, and it is refused with code 5 after', async (ctx) => {
    const revoked = await connect(ctx, 'gw-r', 'pw-r');
    await ctx.side.revokeGateway('gw-r');
    await revoked.closed;
    assert.is(await refusalCode(connectGateway(ctx.side.broker.url, 'gw-r', 'pw-r')), 5);
  });

  test("a gateway publishing on another gateway's topic is disconnected and nothing is stored", async (ctx) => {
    const a = await connect(ctx, 'gw-a', 'pw-a');
    // Even a perfectly signed envelope of B must not get in through A's connection.
    const envelope = sealEnvelope('gw-b', 'readings', makeReadings(1, 3), ctx.keysB.secretKey);
    a.client.publish(upTopic('gw-b', 'readings'), encodeEnvelope(envelope), { qos: 0 });
    await a.closed;
    assert.is(ctx.side.broker.counters.publishesRefused, 1);

    const again = await connect(ctx, 'gw-a', 'pw-a');
    again.client.publish(
      downTopic('gw-a', 'ack'),
      JSON.stringify({ stream: 'readings', upTo: 99 }),
      { qos: 0 },
    );
    await again.closed;
    assert.is(ctx.side.broker.counters.publishesRefused, 2);

    await ctx.side.ingest.idle();
    assert.is((await ctx.database.db.select().from(readings)).length, 0);
    assert.is(ctx.side.ingest.counters.envelopes, 0);
  });

  test('a gateway may subscribe to its own down topics only', async (ctx) => {
    const a = await connect(ctx, 'gw-a', 'pw-a');
    const topics = [
      downTopic('gw-b', 'ack'),
      gatewayDownPattern('gw-b'),
      '#',
      upTopic('gw-a', 'status'),
      gatewayDownPattern('gw-a'),
    ];
    const grants: number[] = [];
    for (const topic of topics) grants.push(await grantOf(a, topic));
    assert.equal(grants, [128, 128, 128, 128, 1]);
    assert.is(ctx.side.broker.counters.subscriptionsRefused, 4);
    assert.ok(a.client.connected, 'a refused subscription keeps the connection');
  });

  test('the retained bed config reaches a gateway on subscribe and follows assignments', async (ctx) => {
    const a = await connect(ctx, 'gw-a', 'pw-a');
    const topic = downTopic('gw-a', 'config');
    await a.client.subscribeAsync(topic, { qos: 1 });
    const first = await waitFor(() => a.messages.find((m) => m.topic === topic), {
      what: 'retained config',
    });
    assert.ok(first.retain, 'delivered as a retained message');
    const config = GatewayConfigDown.parse(JSON.parse(first.payload.toString()));
    assert.equal(config.beds, [{ bedId: 'bed-1', displayName: 'Jane D.' }]);

    await ctx.side.assignBed({
      gatewayId: 'gw-a',
      bedId: 'bed-2',
      patientId: 'p2',
      displayName: 'John D.',
      at: T0 + 1,
    });
    const configs = await waitFor(
      () =>
        a.received<GatewayConfigDown>(topic).length === 2 && a.received<GatewayConfigDown>(topic),
      {
        what: 'updated config',
      },
    );
    assert.equal(configs[1].beds, [
      { bedId: 'bed-1', displayName: 'Jane D.' },
      { bedId: 'bed-2', displayName: 'John D.' },
    ]);

    const b = await connect(ctx, 'gw-b', 'pw-b');
    await b.client.subscribeAsync(gatewayDownPattern('gw-b'), { qos: 1 });
    await b.client.subscribeAsync(downTopic('gw-b', 'config'), { qos: 1 });
    const bConfig = await waitFor(
      () => b.received<GatewayConfigDown>(downTopic('gw-b', 'config'))[0],
      {
        what: "gw-b's own config",
      },
    );
    assert.equal(bConfig.beds, [], 'gw-b has no beds assigned and sees none of gw-a');
  });

  test.run();
}
