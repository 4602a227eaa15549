// cloud.caFile: the local CA the gateway trusts for mqtts:// and enrollment. The fixtures are a
// test CA and a server certificate it signed (2020-2119), made by wardgate-cloud's CA code.
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ConfigError, loadConfig, readCaFile } from '../src/config/load.ts';

const fixture = (name: string) => fileURLToPath(new URL(`./fixtures/tls/${name}`, import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'wardgate-edge-ca-'));
copyFileSync(fixture('test-ca.crt'), join(dir, 'ca.crt'));
copyFileSync(fixture('test-server.crt'), join(dir, 'server.crt'));
writeFileSync(join(dir, 'not-a-cert.crt'), 'hello\n');

test.after(() => rmSync(dir, { recursive: true, force: true }));

function configWith(cloud: string): string {
  const file = join(dir, `edge-${Math.random().toString(36).slice(2)}.yaml`);
  writeFileSync(
    file,
    `gateway:
  id: ward-a
  dataDir: ./data
cloud:
${cloud}
  password: secret
  signingKeyFile: ./gateway.key
devices: []
`,
  );
  return file;
}

function problemsOf(file: string) {
  try {
    loadConfig(file);
  } catch (error) {
    if (error instanceof ConfigError) return error.problems;
    throw error;
  }
  assert.unreachable('the config should have been refused');
  return [];
}

test('caFile relative to the config is read and handed on with mqtts://', () => {
  const loaded = loadConfig(configWith('  mqttUrl: mqtts://cloud.ward:4783\n  caFile: ./ca.crt'));
  assert.is(loaded.caFile, join(dir, 'ca.crt'));
  assert.match(loaded.ca ?? '', '-----BEGIN CERTIFICATE-----');
});

test('without caFile nothing changes: plain mqtt:// and mqtts:// with the system CAs', () => {
  for (const url of ['mqtt://127.0.0.1:4783', 'mqtts://cloud.example:8883']) {
    const loaded = loadConfig(configWith(`  mqttUrl: ${url}`));
    assert.is(loaded.caFile, undefined);
    assert.is(loaded.ca, undefined);
  }
});

test('clear errors: missing file, not a certificate, not a CA, a CA with plain mqtt://', () => {
  const missing = problemsOf(configWith('  mqttUrl: mqtts://c:1\n  caFile: ./nope.crt'));
  assert.equal(
    missing.map((p) => [p.field, p.message]),
    [['cloud.caFile', `${join(dir, 'nope.crt')}: no such file`]],
  );
  assert.is(missing[0].line, 6, 'the line of caFile');

  const garbage = problemsOf(configWith('  mqttUrl: mqtts://c:1\n  caFile: ./not-a-cert.crt'));
  assert.match(garbage[0].message, 'no PEM certificate in it');

  const leaf = problemsOf(configWith('  mqttUrl: mqtts://c:1\n  caFile: ./server.crt'));
  assert.match(leaf[0].message, /is not a CA certificate \(give the CA's/);

  const plain = problemsOf(configWith('  mqttUrl: mqtt://c:1\n  caFile: ./ca.crt'));
  assert.is(plain[0].field, 'cloud.mqttUrl');
  assert.match(plain[0].message, 'caFile is set but the URL is mqtt://: use mqtts://');
});

test('an expired or not yet valid CA is refused with its dates', () => {
  const file = join(dir, 'ca.crt');
  assert.throws(() => readCaFile(file, Date.parse('2120-01-01')), /expired on Dec {1,2}8/);
  assert.throws(() => readCaFile(file, Date.parse('2019-01-01')), /not valid before/);
  assert.match(readCaFile(file), '-----END CERTIFICATE-----');
});

test.run();
