import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startCloud } from '@wardgate/cloud/src/server.ts';
import { apiToken, fetchWith } from '@wardgate/cloud/test/support/api-token.ts';
import { testDatabaseTargets } from '@wardgate/cloud/test/support/test-database.ts';
import type { Gateway } from '@wardgate/edge/src/runtime/gateway.ts';
import { waitFor } from '@wardgate/shared/testing';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';
import { edge, syncFirstRecord } from '../support/enrolled-gateway.ts';

for (const target of testDatabaseTargets()) {
  test(`${target.name}: one-time token → wardgate-edge enroll → the gateway syncs; reuse and revocation refused`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'wardgate-enroll-'));
    const cloud = await startCloud({ database: await target.open(), httpPort: 0, mqttPort: 0 });
    let gateway: Gateway | null = null;
    try {
      // The administrators' side: an API client allowed to manage devices (gateways).
      const admin = fetchWith(await apiToken(cloud, ['system/Device.*']));
      const created = await admin(`${cloud.httpUrl}/api/gateways`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ id: 'ward-new' }),
      });
      assert.is(created.status, 201);
      const { token } = (await created.json()) as { token: string };

      assert.is((await edge(dir, 'init', '--out', 'edge.yaml')).status, 0);
      const enrolled = await edge(
        dir,
        'enroll',
        '--cloud',
        cloud.httpUrl,
        '--token',
        token,
        '--config',
        'edge.yaml',
      );
      assert.is(enrolled.status, 0, enrolled.stderr);
      assert.match(enrolled.stdout, /enrolled as ward-new/);
      const text = readFileSync(join(dir, 'edge.yaml'), 'utf8');
      assert.match(text, /# The HL7 v2 MLLP listener/, 'the comments are kept');
      const config = parse(text);
      assert.is(config.gateway.id, 'ward-new');
      assert.is(config.cloud.mqttUrl, cloud.mqttUrl);
      assert.is(statSync(join(dir, 'gateway.key')).mode & 0o777, 0o600);

      // The token works once.
      const again = await fetch(`${cloud.httpUrl}/api/enroll`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ token, publicKey: Buffer.alloc(32, 1).toString('base64') }),
      });
      assert.is(again.status, 403);

      // The enrolled gateway (devices left out: none are reachable here) links up and is acked.
      gateway = await syncFirstRecord(join(dir, 'edge.yaml'), 'ward-new');

      const revoked = await admin(`${cloud.httpUrl}/api/gateways/ward-new/revoke`, {
        method: 'POST',
      });
      assert.is(revoked.status, 200);
      await waitFor(() => !gateway?.sync.connected, { what: 'the revoked gateway disconnected' });
      const refusedBefore = cloud.broker.counters.connectionsRefused;
      await waitFor(() => cloud.broker.counters.connectionsRefused > refusedBefore, {
        what: 'its reconnect refused',
      });
      assert.is(gateway.sync.connected, false);
    } finally {
      await gateway?.stop();
      await cloud.stop();
      rmSync(dir, { recursive: true, force: true });
    }
  });
}

test('a bad token is refused with a clear message and leaves no key behind', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wardgate-enroll-'));
  const cloud = await startCloud({
    database: await testDatabaseTargets()[0].open(),
    httpPort: 0,
    mqttPort: 0,
  });
  try {
    assert.is((await edge(dir, 'init', '--out', 'edge.yaml')).status, 0);
    const result = await edge(
      dir,
      'enroll',
      '--cloud',
      cloud.httpUrl,
      '--token',
      'not-a-token',
      '--config',
      'edge.yaml',
    );
    assert.is(result.status, 1);
    assert.match(
      result.stderr,
      /the cloud refused the enrollment \(403\): enrollment token unknown, used or expired/,
    );
    assert.throws(() => statSync(join(dir, 'gateway.key')));
    assert.throws(() => statSync(join(dir, 'gateway.key.enrolling')));
  } finally {
    await cloud.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
