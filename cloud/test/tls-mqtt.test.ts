import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect as connectTcp } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  type Ack,
  downTopic,
  encodeEnvelope,
  generateSigningKeyPair,
  initCrypto,
  sealEnvelope,
  upTopic,
} from '@wardgate/shared';
import { waitFor } from '@wardgate/shared/testing';
import { connectAsync } from 'mqtt';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import type { Database } from '../src/db/database.ts';
import { type MqttSide, startMqttSide } from '../src/ingest/service.ts';
import { initCaDir } from '../src/tls/ca-dir.ts';
import { parseHosts } from '../src/tls/hosts.ts';
import { loadTlsCredentials } from '../src/tls/server-tls.ts';
import { createCertificateAuthority } from '../src/tls/x509.ts';
import { connectGateway, readings } from './support/gateway-client.ts';
import { testDatabaseTargets } from './support/test-database.ts';

// The transport does not touch the database beyond the login: one target is enough.
const [target] = testDatabaseTargets();
const GW = 'ward-tls';
const PASSWORD = 'tls-secret';
await initCrypto();
const keys = generateSigningKeyPair();
const dir = mkdtempSync(join(tmpdir(), 'wardgate-tls-mqtt-'));
let database: Database;
let side: MqttSide;
let caPem: string;

test.before(async () => {
  const made = await initCaDir({ dir, hosts: parseHosts('localhost,127.0.0.1') });
  caPem = readFileSync(made.caCertFile, 'utf8');
  database = await target.open();
  side = await startMqttSide({
    db: database.db,
    host: '127.0.0.1',
    port: 0,
    tls: loadTlsCredentials({ cert: made.server.certFile, key: made.server.keyFile }),
  });
  await side.addGateway({ id: GW, publicKey: keys.publicKey, password: PASSWORD });
});

test.after(async () => {
  await side?.stop();
  await database?.close();
  rmSync(dir, { recursive: true, force: true });
});

test('the broker says mqtts://; mqtt.js trusting the CA connects, publishes and is acked', async () => {
  assert.match(side.broker.url, /^mqtts:\/\/127\.0\.0\.1:\d+$/);
  const gateway = await connectGateway(side.broker.url, GW, PASSWORD, { ca: caPem });
  try {
    const ackTopic = downTopic(GW, 'ack');
    await gateway.client.subscribeAsync(ackTopic, { qos: 1 });
    const envelope = sealEnvelope(GW, 'readings', readings(1, 3), keys.secretKey);
    // Resolves on the broker's PUBACK.
    await gateway.client.publishAsync(upTopic(GW, 'readings'), encodeEnvelope(envelope), {
      qos: 1,
    });
    const ack = await waitFor(() => gateway.received<Ack>(ackTopic)[0], {
      what: 'the ingest ack',
    });
    assert.is(ack.stream, 'readings');
    assert.is(ack.upTo, 3);
  } finally {
    await gateway.client.endAsync();
  }
});

test('a client not trusting the CA is refused by its own TLS check', async () => {
  const stranger = await createCertificateAuthority();
  for (const ca of [undefined, stranger.certPem]) {
    try {
      await connectAsync(side.broker.url, {
        username: GW,
        password: PASSWORD,
        clientId: `${GW}:untrusting`,
        reconnectPeriod: 0,
        connectTimeout: 5_000,
        ...(ca ? { ca } : {}),
      });
      assert.unreachable('the handshake should fail');
    } catch (error) {
      assert.is((error as NodeJS.ErrnoException).code, 'SELF_SIGNED_CERT_IN_CHAIN');
    }
  }
});

test('plain MQTT to the TLS port gets no CONNACK: the connection is dropped', async () => {
  const attempt = connectAsync(
    side.broker.url.replace('mqtts:', 'mqtt:'),
    {
      username: GW,
      password: PASSWORD,
      clientId: `${GW}:plain`,
      reconnectPeriod: 0,
      connectTimeout: 5_000,
    },
    false,
  );
  try {
    const client = await attempt;
    await client.endAsync(true);
    assert.unreachable('a plain client must not connect');
  } catch (error) {
    assert.match((error as Error).message, /Couldn't connect to server|ECONNRESET/);
  }
  // And at the byte level: a raw MQTT CONNECT is answered by a TLS alert or nothing, then close.
  const port = Number(new URL(side.broker.url).port);
  const answer = await new Promise<Buffer>((resolve) => {
    const socket = connectTcp(port, '127.0.0.1', () =>
      socket.write(Buffer.from('101000044d5154540402003c0004746573740000', 'hex')),
    );
    const chunks: Buffer[] = [];
    socket.on('data', (chunk) => chunks.push(chunk));
    socket.on('error', () => {});
    socket.on('close', () => resolve(Buffer.concat(chunks)));
  });
  assert.not.equal(answer[0], 0x20, 'no CONNACK');
});

test.run();
