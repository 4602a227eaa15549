import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { OximeterSim, PatientModel } from '@wardgate/hardware-sim';
import { formatOximeterLine, termFor } from '@wardgate/shared';
import { waitFor } from '@wardgate/shared/testing';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  POOR_SIGNAL_CONDITION,
  SENSOR_OFF_CONDITION,
  SerialLineDriver,
  type SerialLineTransport,
} from '../src/drivers/serial-line.ts';
import { RecordingSink } from './support/recording-sink.ts';

const device = { id: 'bed-1-oxi', bed: 'bed-1', kind: 'oximeter' as const };
const cleanups: (() => Promise<unknown>)[] = [];

const makeSim = (options: { port?: number; pty?: boolean } = {}) => {
  const sim = new OximeterSim({
    id: device.id,
    bedId: device.bed,
    patient: new PatientModel({ seed: 7 }),
    port: options.port ?? 0,
    intervalMs: 50,
    pty: options.pty,
  });
  cleanups.push(() => sim.stop());
  return sim;
};
const makeDriver = (transport: SerialLineTransport) => {
  const driver = new SerialLineDriver({
    device,
    transport,
    silentAfterSeconds: 0.5,
    backoff: { initialMs: 20, maxMs: 200 },
  });
  cleanups.push(() => driver.stop());
  return driver;
};

test.after.each(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

test('readings for SpO2, pulse rate and PI arrive with their units', async () => {
  const sim = makeSim();
  await sim.start();
  const driver = makeDriver({ type: 'tcp', host: '127.0.0.1', port: Number(sim.address().port) });
  const sink = new RecordingSink();
  await driver.start(sink);
  await waitFor(() => sink.readingsSeen.length >= 6, { what: 'two lines of readings' });
  assert.equal(sink.statuses[0], { deviceId: device.id, state: 'online', error: undefined });
  for (const mdc of ['MDC_PULS_OXIM_SAT_O2', 'MDC_PULS_OXIM_PULS_RATE', 'MDC_PULS_OXIM_PERF_REL']) {
    const r = sink.readingsSeen.find((x) => x.parameter === mdc);
    assert.ok(r, `a ${mdc} reading`);
    assert.is(r.unit, termFor(mdc)?.ucum);
    assert.is(r.deviceId, device.id);
    assert.is(r.bedId, device.bed);
    assert.is(r.quality, 'valid');
    assert.ok(Math.abs(r.deviceTime - r.gatewayTime) < 2000, 'device time is the line time');
  }
  const spo2 = sink.readingsSeen.find((x) => x.parameter === 'MDC_PULS_OXIM_SAT_O2');
  assert.ok(spo2 && spo2.value >= 90 && spo2.value <= 100);
  const [stats] = driver.stats();
  assert.is(stats.state, 'online');
  assert.ok(stats.messages >= 2);
  assert.is(stats.errors, 0);
  assert.is(stats.detail, `serial-tcp 127.0.0.1:${sim.address().port}`);
  assert.is(driver.type, 'serial-tcp');
});

test('garbage and a malformed line cost one error; the good line still gets through', async () => {
  const good = formatOximeterLine({
    time: Date.UTC(2026, 0, 2, 3, 4, 5),
    serial: 42,
    spo2: 95,
    pulseRate: 88,
    perfusionIndex: 2.5,
  });
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.write(
      Buffer.concat([
        Buffer.from([0x00, 0xff, 0x1b]),
        Buffer.from('01/02/26 03:04:05 SN=42 SPO2=9?% BPM=088\r\n'),
        Buffer.from(good),
      ]),
    );
  });
  cleanups.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const driver = makeDriver({ type: 'tcp', host: '127.0.0.1', port });
  const sink = new RecordingSink();
  await driver.start(sink);
  await waitFor(() => sink.readingsSeen.length === 3, { what: 'the good line' });
  assert.equal(
    sink.readingsSeen.map((r) => [r.parameter, r.value]),
    [
      ['MDC_PULS_OXIM_SAT_O2', 95],
      ['MDC_PULS_OXIM_PULS_RATE', 88],
      ['MDC_PULS_OXIM_PERF_REL', 2.5],
    ],
  );
  assert.is(sink.readingsSeen[0].deviceTime, Date.UTC(2026, 0, 2, 3, 4, 5));
  assert.is(sink.errors.length, 1);
  assert.match(sink.errors[0].message, 'dropped garbage byte(s) 0x00 0xFF 0x1B');
  assert.is(driver.stats()[0].errors, 1);

  // A malformed line on its own is reported with the field at fault, and the stream goes on.
  for (const s of sockets) s.write(`${good.replace(' BPM=088', '')}${good}`);
  await waitFor(() => sink.readingsSeen.length === 6, { what: 'the line after the bad one' });
  assert.is(sink.errors.length, 2);
  assert.match(sink.errors[1].message, 'missing field BPM');
  const [stats] = driver.stats();
  assert.is(stats.errors, 2);
  assert.match(String(stats.lastError), 'missing field BPM');
  assert.is(stats.messages, 2);
});

test('sensor off raises a technical alarm and stops the values; back on clears it', async () => {
  const sim = makeSim();
  await sim.start();
  const driver = makeDriver({ type: 'tcp', host: '127.0.0.1', port: Number(sim.address().port) });
  const sink = new RecordingSink();
  await driver.start(sink);
  await waitFor(() => sink.readingsSeen.length > 0, { what: 'readings' });
  sim.setSensorOff(true);
  const raised = await waitFor(() => sink.alarms[0], { what: 'sensor-off alarm' });
  assert.equal(
    { ...raised, time: 0 },
    {
      deviceId: device.id,
      bedId: device.bed,
      condition: SENSOR_OFF_CONDITION,
      priority: 'medium',
      kind: 'technical',
      active: true,
      message: 'sensor off (sensorOff)',
      time: 0,
    },
  );
  const countAtRaise = sink.readingsSeen.length;
  const messagesAtRaise = driver.stats()[0].messages;
  await waitFor(() => driver.stats()[0].messages >= messagesAtRaise + 3, { what: 'more lines' });
  assert.is(sink.readingsSeen.length, countAtRaise, 'no values while the sensor is off');
  assert.is(sink.alarms.length, 1, 'the alarm is signalled once, on change');
  sim.setSensorOff(false);
  await waitFor(() => sink.alarms.length === 2, { what: 'alarm cleared' });
  assert.is(sink.alarms[1].active, false);
  await waitFor(() => sink.readingsSeen.length > countAtRaise, { what: 'values again' });
});

test('poor signal quality raises a low technical alarm, flags the values questionable, then clears', async () => {
  const sim = makeSim();
  await sim.start();
  const driver = makeDriver({ type: 'tcp', host: '127.0.0.1', port: Number(sim.address().port) });
  const sink = new RecordingSink();
  await driver.start(sink);
  await waitFor(() => sink.readingsSeen.length > 0, { what: 'readings' });
  assert.ok(sink.readingsSeen.every((r) => r.quality === 'valid'));
  sim.setPoorSignal(true);
  const raised = await waitFor(
    () => sink.alarms.find((a) => a.condition === POOR_SIGNAL_CONDITION),
    {
      what: 'poor-signal alarm',
    },
  );
  assert.is(raised.active, true);
  assert.is(raised.priority, 'low');
  assert.is(raised.kind, 'technical');
  await waitFor(() => sink.readingsSeen.at(-1)?.quality === 'questionable', {
    what: 'questionable values',
  });
  sim.setPoorSignal(false);
  await waitFor(
    () => sink.alarms.filter((a) => a.condition === POOR_SIGNAL_CONDITION).length === 2,
    {
      what: 'poor-signal cleared',
    },
  );
  assert.is(sink.alarms.at(-1)?.active, false);
});

test('sim stopped → offline; restarted on the same port → online again', async () => {
  const sim = makeSim();
  await sim.start();
  const port = Number(sim.address().port);
  const driver = makeDriver({ type: 'tcp', host: '127.0.0.1', port });
  const sink = new RecordingSink();
  await driver.start(sink);
  await waitFor(() => sink.lastState === 'online', { what: 'online' });
  await sim.stop();
  await waitFor(() => sink.lastState === 'offline', { what: 'offline' });
  assert.is(driver.stats()[0].state, 'offline');
  assert.ok(sink.statuses.at(-1)?.error, 'offline carries the reason');
  await waitFor(() => /ECONNREFUSED/.test(String(driver.stats()[0].lastError)), {
    what: 'refused reconnects',
  });
  await sim.start();
  assert.is(Number(sim.address().port), port);
  await waitFor(() => sink.lastState === 'online', { what: 'online again' });
  const before = sink.readingsSeen.length;
  await waitFor(() => sink.readingsSeen.length > before, { what: 'readings again' });
  assert.equal(
    sink.statuses.map((s) => s.state),
    ['online', 'offline', 'online'],
  );
});

test('a connected but silent device goes offline', async () => {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.write(
      formatOximeterLine({
        time: Date.now(),
        serial: 1,
        spo2: 97,
        pulseRate: 70,
        perfusionIndex: 3,
      }),
    );
  });
  cleanups.push(async () => {
    for (const s of sockets) s.destroy();
    await new Promise((resolve) => server.close(resolve));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const driver = makeDriver({
    type: 'tcp',
    host: '127.0.0.1',
    port: (server.address() as net.AddressInfo).port,
  });
  const sink = new RecordingSink();
  await driver.start(sink);
  await waitFor(() => sink.lastState === 'online', { what: 'online' });
  await waitFor(() => sink.lastState === 'offline', { what: 'offline after silence' });
  assert.is(sink.statuses.at(-1)?.error, 'no valid line for 0.5 s');
});

test('tty transport: serialport reads the sim on its pty (needs socat)', async () => {
  if (spawnSync('socat', ['-V']).error) {
    console.log('skipped: socat not installed');
    return;
  }
  const sim = makeSim({ pty: true });
  await sim.start();
  const path = String(sim.address().pty);
  assert.match(path, /oxi-bed-1-oxi$/);
  const driver = makeDriver({ type: 'tty', path, baudRate: 9600 });
  assert.is(driver.type, 'serial');
  const sink = new RecordingSink();
  await driver.start(sink);
  await waitFor(() => sink.readingsSeen.length >= 6, { what: 'readings from the pty' });
  const parameters = new Set(sink.readingsSeen.map((r) => r.parameter));
  assert.equal(parameters.size, 3);
  assert.is(driver.stats()[0].detail, `serial ${path} 9600 baud`);
  // The port going away is noticed, and the driver reopens it when it is back. (Whether the very
  // first open raced socat's pty and was retried does not matter here.)
  assert.is(sink.lastState, 'online');
  const beforeStop = sink.statuses.length;
  await sim.stop();
  await waitFor(() => sink.lastState === 'offline', { what: 'offline when the pty goes' });
  await waitFor(() => /cannot open/.test(String(driver.stats()[0].lastError)), {
    what: 'failed reopen attempts',
  });
  await sim.start();
  assert.is(sim.address().pty, path);
  await waitFor(() => sink.lastState === 'online', { what: 'online on the new pty' });
  assert.equal(
    sink.statuses.slice(beforeStop).map((s) => s.state),
    ['offline', 'online'],
  );
});

test.run();
