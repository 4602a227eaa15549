// A test install with its own CA: `ca init` makes the CA and the cloud's certificate, the cloud
// serves https:// and mqtts://, the gateway enrolls over https trusting the CA (--ca-file) and its
// sync client then links up over mqtts:// and gets its records acked.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createEnrollment } from '@wardgate/cloud/src/gateways/enrollment.ts';
import { startCloud } from '@wardgate/cloud/src/server.ts';
import { initCaDir } from '@wardgate/cloud/src/tls/ca-dir.ts';
import { parseHosts } from '@wardgate/cloud/src/tls/hosts.ts';
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

    const loaded = loadConfig(join(dir, 'edge.yaml'));
    loaded.config.devices = [];
    loaded.config.http.port = 0;
    gateway = await Gateway.start(loaded, () => {});
    await waitFor(() => gateway?.sync.connected, { what: 'the gateway linked up over mqtts' });
    gateway.store.appendAlarmEvents([
      {
        alarmId: 'a1',
        deviceId: 'ward-tls',
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
      what: 'the ack of its first record over TLS',
    });
  } finally {
    await gateway?.stop();
    await cloud.stop();
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
