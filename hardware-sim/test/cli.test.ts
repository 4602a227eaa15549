import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { waitFor } from '@wardgate/shared/testing';
import { test } from 'uvu';
import * as assert from 'uvu/assert';

const bin = fileURLToPath(new URL('../bin/wardgate-sim.mjs', import.meta.url));

test('wardgate-sim runs a ward and writes the devices section a gateway config needs', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wardgate-sim-cli-'));
  const devicesFile = join(dir, 'devices.json');
  const child = spawn(process.execPath, [
    bin,
    '--beds',
    '2',
    '--scenario',
    'bed-2=deteriorating',
    '--devices-out',
    devicesFile,
  ]);
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  try {
    await waitFor(() => existsSync(devicesFile), { timeoutMs: 20_000, what: 'the devices file' });
    const devices = JSON.parse(readFileSync(devicesFile, 'utf8')) as {
      id: string;
      kind: string;
      driver: string;
      bed: string;
      port?: number;
      profile?: string;
    }[];
    assert.equal(devices.map((d) => d.id).sort(), [
      'bed-1-monitor',
      'bed-1-oxi',
      'bed-1-pump',
      'bed-1-vent',
      'bed-2-monitor',
      'bed-2-oxi',
      'bed-2-pump',
      'bed-2-vent',
    ]);
    const vent = devices.find((d) => d.id === 'bed-1-vent');
    assert.is(vent?.driver, 'modbus-tcp');
    assert.is(vent?.profile, 'sim-ventilator-v1');
    assert.is(devices.find((d) => d.id === 'bed-2-oxi')?.driver, 'serial-tcp');
    // The oximeter's serial device server answers with lines.
    const oxi = devices.find((d) => d.id === 'bed-1-oxi');
    const line = await new Promise<string>((resolve, reject) => {
      const socket = createConnection({ host: '127.0.0.1', port: oxi?.port as number });
      socket.once('error', reject);
      socket.once('data', (chunk) => {
        socket.destroy();
        resolve(chunk.toString());
      });
    });
    assert.match(line, /SPO2=\d{3}% BPM=\d{3}/);
  } finally {
    child.kill('SIGTERM');
    assert.is(await exited, 0, 'stops cleanly on SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
});

test('bad arguments get a clear error and exit 2', async () => {
  const run = (args: string[]) =>
    new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = spawn(process.execPath, [bin, ...args]);
      let stderr = '';
      child.stderr.on('data', (c: Buffer) => {
        stderr += c;
      });
      child.on('exit', (code) => resolve({ code, stderr }));
    });
  const scenario = await run(['--scenario', 'bed-1=zombie']);
  assert.is(scenario.code, 2);
  assert.match(scenario.stderr, /--scenario must be BED=stable\|deteriorating/);
  const gateway = await run(['--gateway', 'nowhere']);
  assert.is(gateway.code, 2);
  assert.match(gateway.stderr, /--gateway must be HOST:PORT/);
  const fault = await run(['--fault', 'bed-1-vent=slow']);
  assert.is(fault.code, 2);
  assert.match(fault.stderr, /--fault bed-1-vent=slow: .*delay \(ms\) must be a whole number/);
});

test('faults: --fault at start, then "clear" and "fault" lines on stdin', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'wardgate-sim-cli-'));
  const devicesFile = join(dir, 'devices.json');
  const child = spawn(process.execPath, [
    bin,
    '--beds',
    '1',
    '--fault',
    'bed-1-oxi=unplugged',
    '--devices-out',
    devicesFile,
  ]);
  let stdout = '';
  child.stdout.on('data', (c: Buffer) => {
    stdout += c;
  });
  const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));
  const connects = (port: number) =>
    new Promise<string>((resolve) => {
      const socket = createConnection({ host: '127.0.0.1', port });
      socket.once('connect', () => {
        socket.destroy();
        resolve('connected');
      });
      socket.once('error', (error) => resolve(error.message));
    });
  try {
    await waitFor(() => existsSync(devicesFile), { timeoutMs: 20_000, what: 'the devices file' });
    const devices = JSON.parse(readFileSync(devicesFile, 'utf8')) as {
      id: string;
      port?: number;
    }[];
    const port = devices.find((d) => d.id === 'bed-1-oxi')?.port as number;
    assert.match(stdout, /fault: bed-1-oxi unplugged/);
    assert.match(await connects(port), /ECONNREFUSED/);
    child.stdin.write('clear bed-1-oxi\n');
    await waitFor(() => stdout.includes('cleared: bed-1-oxi'), { what: 'cleared' });
    await waitFor(async () => (await connects(port)) === 'connected', { what: 'plugged back' });
    child.stdin.write('fault bed-9-oxi unplugged\n');
    await waitFor(() => /error: no device "bed-9-oxi"/.test(stdout), { what: 'an error line' });
    child.stdin.write('fault bed-1-oxi half-open\n');
    await waitFor(() => stdout.includes('fault: bed-1-oxi half-open'), { what: 'half-open' });
  } finally {
    child.kill('SIGTERM');
    assert.is(await exited, 0, 'stops cleanly on SIGTERM');
    rmSync(dir, { recursive: true, force: true });
  }
});

test.run();
