import { spawn } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { waitFor } from '@wardgate/shared/testing';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  type SystemdNotifier,
  startSystemdNotify,
  watchdogIntervalFromEnv,
} from '../src/systemd-notify.ts';

const dir = mkdtempSync(join(tmpdir(), 'wardgate-sd-notify-'));
const record = join(dir, 'calls.txt');
// A stand-in for systemd-notify: appends its arguments, one call per line.
writeFileSync(join(dir, 'systemd-notify'), `#!/bin/sh\necho "$*" >> "${record}"\n`);
chmodSync(join(dir, 'systemd-notify'), 0o755);
const fakePath = `${dir}${delimiter}${process.env.PATH ?? ''}`;
const notifiers: SystemdNotifier[] = [];

const calls = () => (existsSync(record) ? readFileSync(record, 'utf8').trim().split('\n') : []);

test.after(() => {
  for (const notifier of notifiers) notifier.stop();
  rmSync(dir, { recursive: true, force: true });
});

test('without NOTIFY_SOCKET every call is a no-op and nothing is spawned', () => {
  let spawned = 0;
  const notifier = startSystemdNotify({
    env: { PATH: fakePath, WATCHDOG_USEC: '200000' },
    spawn: (command, args, options) => {
      spawned += 1;
      return spawn(command, args, options);
    },
  });
  notifiers.push(notifier);
  notifier.ready('up');
  notifier.stopping();
  assert.is(notifier.enabled, false);
  assert.is(notifier.watchdogRunning, false);
  assert.is(spawned, 0);
  assert.equal(calls(), []);
});

test('ready, watchdog pings and stopping run systemd-notify with the right arguments', async () => {
  const logged: string[] = [];
  const notifier = startSystemdNotify({
    env: { PATH: fakePath, NOTIFY_SOCKET: '/run/systemd/notify', WATCHDOG_USEC: '200000' },
    log: (_level, message) => logged.push(message),
  });
  notifiers.push(notifier);
  assert.is(notifier.enabled, true);
  assert.is(notifier.watchdogIntervalMs, 100);

  notifier.ready('serving');
  assert.ok(notifier.watchdogRunning);
  const pid = `--pid=${process.pid}`;
  await waitFor(() => calls().filter((line) => line === `${pid} WATCHDOG=1`).length >= 2, {
    what: 'two watchdog pings',
  });
  assert.ok(calls().includes(`${pid} READY=1 STATUS=serving`), calls().join('\n'));

  notifier.stopping();
  assert.is(notifier.watchdogRunning, false);
  await waitFor(() => calls().includes(`${pid} STOPPING=1`), { what: 'STOPPING=1' });
  assert.is(notifier.failures, 0);
  assert.ok(logged.some((message) => message.includes('pinging every 100 ms')));
});

test('a missing helper is counted and logged, never thrown', async () => {
  const logged: string[] = [];
  const notifier = startSystemdNotify({
    env: { PATH: fakePath, NOTIFY_SOCKET: '/run/systemd/notify' },
    command: join(dir, 'no-such-helper'),
    log: (level, message) => logged.push(`${level} ${message}`),
  });
  notifiers.push(notifier);
  notifier.ready();
  await waitFor(() => notifier.failures === 1, { what: 'the failure to be counted' });
  assert.match(logged.join('\n'), /warn systemd-notify READY=1 failed: .*ENOENT/);
  assert.is(notifier.watchdogRunning, false);
});

test('watchdog interval: half of WATCHDOG_USEC, only for our pid, bad values are errors', () => {
  assert.is(watchdogIntervalFromEnv({}), undefined);
  assert.is(watchdogIntervalFromEnv({ WATCHDOG_USEC: '30000000' }), 15_000);
  assert.is(watchdogIntervalFromEnv({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '42' }, 42), 15_000);
  assert.is(
    watchdogIntervalFromEnv({ WATCHDOG_USEC: '30000000', WATCHDOG_PID: '43' }, 42),
    undefined,
  );
  assert.throws(() => watchdogIntervalFromEnv({ WATCHDOG_USEC: '30s' }), /WATCHDOG_USEC must be/);
  assert.throws(() => watchdogIntervalFromEnv({ WATCHDOG_USEC: '0' }), /WATCHDOG_USEC must be/);
  assert.throws(
    () => watchdogIntervalFromEnv({ WATCHDOG_USEC: '1000', WATCHDOG_PID: 'x' }),
    /WATCHDOG_PID must be/,
  );
});

test('a malformed WATCHDOG_USEC disables the watchdog with a warning, READY still works', async () => {
  const logged: string[] = [];
  const notifier = startSystemdNotify({
    env: { PATH: fakePath, NOTIFY_SOCKET: '/run/systemd/notify', WATCHDOG_USEC: 'soon' },
    log: (level, message) => logged.push(`${level} ${message}`),
  });
  notifiers.push(notifier);
  assert.is(notifier.watchdogIntervalMs, undefined);
  assert.match(logged.join('\n'), /warn systemd watchdog disabled: WATCHDOG_USEC must be/);
  rmSync(record, { force: true });
  notifier.ready();
  assert.is(notifier.watchdogRunning, false);
  await waitFor(() => calls().includes(`--pid=${process.pid} READY=1`), { what: 'READY=1' });
});

test.run();
