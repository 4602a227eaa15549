// The production build: scripts/build.mjs bundles each CLI into one file that plain node runs
// (no tsx), and the bundles still find what the sources read at run time: the edge's and the
// cloud's migrations, the Modbus profiles in shared/profiles and the nurse-screen files.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, waitFor } from '@wardgate/shared/testing';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parse, stringify } from 'yaml';

const root = fileURLToPath(new URL('../..', import.meta.url));
const EDGE = join(root, 'edge', 'dist', 'wardgate-edge.mjs');
const CLOUD = join(root, 'cloud', 'dist', 'wardgate-cloud.mjs');

const node = (args: string[], cwd = root) =>
  spawnSync(process.execPath, args, { cwd, encoding: 'utf8', timeout: 60_000 });

let dir = '';
const running: ChildProcess[] = [];

test.before(() => {
  dir = mkdtempSync(join(tmpdir(), 'wardgate-build-'));
  const built = node([join(root, 'scripts', 'build.mjs')]);
  assert.is(built.status, 0, built.stderr);
  assert.match(built.stdout, /built edge\/dist\/wardgate-edge\.mjs/);
  assert.match(built.stdout, /built cloud\/dist\/wardgate-cloud\.mjs/);
});

test.after(async () => {
  await Promise.all(
    running.map(
      (child) =>
        new Promise<void>((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) return resolve();
          child.once('exit', () => resolve());
          child.kill('SIGKILL');
        }),
    ),
  );
  rmSync(dir, { recursive: true, force: true });
});

test('the workspace packages are bundled in, npm packages stay imports', () => {
  const edge = readFileSync(EDGE, 'utf8');
  const cloud = readFileSync(CLOUD, 'utf8');
  for (const code of [edge, cloud]) assert.not.match(code, /from ["']@wardgate\//);
  assert.match(edge, /from "better-sqlite3"/);
  assert.match(cloud, /from "@electric-sql\/pglite"/);
  const inputs = JSON.parse(readFileSync(EDGE.replace(/\.mjs$/, '.inputs.json'), 'utf8'));
  assert.ok(inputs.includes('edge/src/cli.ts'));
  assert.ok(inputs.includes('shared/src/index.ts'));
});

test('edge bundle: keygen, init, config check (profiles from shared/profiles)', () => {
  const keygen = node([EDGE, 'keygen', '--out', 'gateway.key'], dir);
  assert.is(keygen.status, 0, keygen.stderr);
  assert.match(keygen.stdout, /public key \(register it with the cloud\): \S+/);
  assert.is(node([EDGE, 'init', '--out', 'edge.yaml'], dir).status, 0);
  const check = node([EDGE, 'config', 'check', '--config', 'edge.yaml'], dir);
  assert.is(check.status, 0, check.stderr);
  assert.match(check.stdout, /edge\.yaml: ok — gateway ward-a, 4 devices/);
  const bad = node([EDGE, 'config', 'check', '--config', 'missing.yaml'], dir);
  assert.is.not(bad.status, 0);
});

test('cloud bundle: --help, and gateways list runs the migrations on PGlite', () => {
  const help = node([CLOUD, '--help']);
  assert.is(help.status, 0, help.stderr);
  assert.match(help.stdout, /Usage: wardgate-cloud <command>/);
  const list = node([CLOUD, 'gateways', 'list', '--data-dir', join(dir, 'cloud')]);
  assert.is(list.status, 0, list.stderr);
  // A missing migrations folder is printed as an error (with exit code 0), so check the output.
  assert.is(list.stderr, '');
  assert.match(list.stdout, /no gateways/);
});

test('edge bundle: run opens its store and serves /health and the nurse screen', async () => {
  const config = parse(readFileSync(join(dir, 'edge.yaml'), 'utf8'));
  config.gateway.dataDir = join(dir, 'edge-data');
  config.cloud.signingKeyFile = join(dir, 'gateway.key');
  config.cloud.mqttUrl = `mqtt://127.0.0.1:${await freePort()}`; // nothing there: sync retries
  config.mllp = { host: '127.0.0.1', port: await freePort() };
  config.devices = config.devices.filter((d: { driver: string }) => d.driver === 'hl7-mllp');
  writeFileSync(join(dir, 'run.yaml'), stringify(config));

  const child = spawn(process.execPath, [EDGE, 'run', '--config', join(dir, 'run.yaml')], {
    env: { ...process.env, EDGE_HTTP_PORT: '0' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.push(child);
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => {
    output += chunk;
  });
  child.stderr.on('data', (chunk: Buffer) => {
    output += chunk;
  });
  const url = await waitFor(() => /HTTP on (http:\/\/\S+)/.exec(output)?.[1], {
    timeoutMs: 20_000,
    what: `the gateway's HTTP line (output so far: ${output})`,
  });

  const health = await fetch(`${url}/health`);
  assert.is(health.status, 200);
  const body = (await health.json()) as { store: { readingsCommitted: number } };
  assert.type(body.store.readingsCommitted, 'number');

  const page = await fetch(`${url}/`);
  assert.is(page.status, 200);
  assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
  assert.match(await page.text(), /<title>wardgate — ward alarms<\/title>/);
  const script = await fetch(`${url}/ui/nurse.js`);
  assert.is(script.status, 200);
  await script.arrayBuffer();

  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  assert.is(await exited, 0, output);
});

test.run();
