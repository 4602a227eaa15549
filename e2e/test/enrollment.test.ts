// Enrollment as an engineer does it: the admin creates a one-time token in the cloud, the
// gateway's CLI enrolls with it (making its own key pair), the gateway then syncs with the
// credentials it received; the token cannot be used twice, and a revoked gateway is refused.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startCloud } from '@wardgate/cloud/src/server.ts';
import { apiToken, fetchWith } from '@wardgate/cloud/test/support/api-token.ts';
import { testDatabaseTargets } from '@wardgate/cloud/test/support/test-database.ts';
import { loadConfig } from '@wardgate/edge/src/config/load.ts';
import { Gateway } from '@wardgate/edge/src/runtime/gateway.ts';
import { waitFor } from '@wardgate/shared/testing';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse } from 'yaml';

const edgeCli = fileURLToPath(new URL('../../edge/bin/wardgate-edge.mjs', import.meta.url));
/** The CLI runs asynchronously: the cloud it talks to lives in this process's event loop. */
const edge = (cwd: string, ...args: string[]) =>
  new Promise<{ status: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = spawn(process.execPath, [edgeCli, ...args], { cwd });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (c: Buffer) => {
      stdout += c;
    });
    child.stderr.on('data', (c: Buffer) => {
      stderr += c;
    });
    child.on('close', (status) => resolve({ status, stdout, stderr }));
  });

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
      const loaded = loadConfig(join(dir, 'edge.yaml'));
      loaded.config.devices = [];
      loaded.config.http.port = 0;
      gateway = await Gateway.start(loaded, () => {});
      await waitFor(() => gateway?.sync.connected, { what: 'the enrolled gateway connected' });
      gateway.store.appendAlarmEvents([
        {
          alarmId: 'a1',
          deviceId: 'ward-new',
          bedId: 'gateway',
          source: 'gateway',
          condition: 'WG_TEST',
          priority: 'low',
          kind: 'technical',
          transition: 'raised',
          time: Date.now(),
        },
      ]);
      await waitFor(() => gateway?.store.cursor('alarms').ackedUpTo === 1, {
        what: 'the ack of its first record',
      });

      // Revoked: refused at once, the connection is closed and not let back in.
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
