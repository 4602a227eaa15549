import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createEnrollment } from '@wardgate/cloud/src/gateways/enrollment.ts';
import { startCloud } from '@wardgate/cloud/src/server.ts';
import { initCaDir } from '@wardgate/cloud/src/tls/ca-dir.ts';
import { parseHosts } from '@wardgate/cloud/src/tls/hosts.ts';
import { testDatabaseTargets } from '@wardgate/cloud/test/support/test-database.ts';
import type { Gateway } from '@wardgate/edge/src/runtime/gateway.ts';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { edge, syncFirstRecord } from '../support/enrolled-gateway.ts';

test('ca init → cloud on https/mqtts → enroll --ca-file → the gateway syncs over TLS', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wardgate-tls-e2e-'));
  const pki = await initCaDir({ dir: join(dir, 'pki'), hosts: parseHosts('localhost,127.0.0.1') });
  const cloud = await startCloud({
    database: await testDatabaseTargets()[0].open(),
    httpPort: 0,
    mqttPort: 0,
    tls: { cert: pki.server.certFile, key: pki.server.keyFile },
  });
  let gateway: Gateway | null = null;
  try {
    assert.match(cloud.httpUrl, /^https:/);
    const { token } = await createEnrollment(cloud.database.db, { gatewayId: 'ward-tls' });
    assert.is((await edge(dir, 'init', '--out', 'edge.yaml')).status, 0);

    // Without the CA the gateway does not trust the cloud, and nothing is left behind.
    const untrusting = await edge(
      dir,
      ...['enroll', '--cloud', cloud.httpUrl, '--token', token, '--config', 'edge.yaml'],
    );
    assert.is(untrusting.status, 1);
    assert.match(untrusting.stderr, /cannot reach the cloud .*self-signed certificate/);

    const enrolled = await edge(
      dir,
      ...['enroll', '--cloud', cloud.httpUrl, '--token', token, '--config', 'edge.yaml'],
      ...['--ca-file', 'pki/ca.crt'],
    );
    assert.is(enrolled.status, 0, enrolled.stderr);
    const config = parse(readFileSync(join(dir, 'edge.yaml'), 'utf8'));
    assert.is(config.cloud.mqttUrl, cloud.mqttUrl);
    assert.match(config.cloud.mqttUrl, /^mqtts:/);
    assert.is(config.cloud.caFile, './pki/ca.crt');

    gateway = await syncFirstRecord(join(dir, 'edge.yaml'), 'ward-tls');
  } finally {
    await gateway?.stop();
    await cloud.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
