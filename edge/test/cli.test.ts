import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const bin = fileURLToPath(new URL('../bin/wardgate-edge.mjs', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'wardgate-edge-cli-'));
const cli = (...args: string[]) =>
  spawnSync(process.execPath, [bin, ...args], { cwd: dir, encoding: 'utf8' });

test('init writes a commented config that config check accepts; init never overwrites', () => {
  const init = cli('init', '--out', 'edge.yaml');
  assert.is(init.status, 0, init.stderr);
  assert.match(readFileSync(join(dir, 'edge.yaml'), 'utf8'), /# The HL7 v2 MLLP listener/);
  const check = cli('config', 'check', '--config', 'edge.yaml');
  assert.is(check.status, 0, check.stderr);
  assert.match(check.stdout, /ok — gateway ward-a, 4 devices/);
  const again = cli('init', '--out', 'edge.yaml');
  assert.is(again.status, 1);
  assert.match(again.stderr, /exists; not overwriting/);
});

test('config check names the line, field and problem, and exits 1', () => {
  writeFileSync(
    join(dir, 'bad.yaml'),
    'gateway:\n  id: ward-a\n  dataDir: d\ncloud:\n  mqttUrl: http://nope\n  password: p\n  signingKeyFile: k\ndevices: []\n',
  );
  const check = cli('config', 'check', '--config', 'bad.yaml');
  assert.is(check.status, 1);
  assert.match(
    check.stderr,
    /line 5: cloud\.mqttUrl: an mqtt:\/\/, mqtts:\/\/, ws:\/\/ or wss:\/\/ URL/,
  );
});

test('keygen writes a private key file and prints the public key', () => {
  const keygen = cli('keygen', '--out', 'gateway.key');
  assert.is(keygen.status, 0, keygen.stderr);
  const publicKey = /public key \(register it with the cloud\): (\S+)/.exec(keygen.stdout)?.[1];
  assert.is(Buffer.from(publicKey ?? '', 'base64').length, 32);
  const secret = readFileSync(join(dir, 'gateway.key'), 'utf8').split('\n')[1];
  assert.is(Buffer.from(secret, 'base64').length, 64);
});

test('usage errors print the usage and exit 2', () => {
  const unknown = cli('fly');
  assert.is(unknown.status, 2);
  assert.match(unknown.stderr, /unknown command "fly"/);
  assert.match(unknown.stderr, /usage:/);
  const missing = cli('run');
  assert.is(missing.status, 2);
  assert.match(missing.stderr, /--config FILE is required/);
});

test.after(() => rmSync(dir, { recursive: true, force: true }));
test.run();
