import net from 'node:net';
import {
  buildAlarmOru,
  buildOru,
  frameMllp,
  MllpDecoder,
  parametersOf,
  parseHl7,
  readAck,
} from '@wardgate/shared';
import { waitFor } from '@wardgate/shared/testing';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { PatientMonitorSim } from '../../hardware-sim/src/monitor.ts';
import { PatientModel } from '../../hardware-sim/src/physiology.ts';
import { MllpListenerDriver } from '../src/drivers/mllp-listener.ts';
import { RecordingSink } from './support/recording-sink.ts';

const sink = new RecordingSink();
const driver = new MllpListenerDriver({
  host: '127.0.0.1',
  port: 0,
  devices: [
    { id: 'bed-1-monitor', bed: 'icu-1' },
    { id: 'bed-2-monitor', bed: 'icu-2' },
    { id: 'bed-3-monitor', bed: 'icu-3', silentAfterSeconds: 0.3 },
    { id: 'raw-monitor', bed: 'icu-9' },
  ],
  maxFrameBytes: 4096,
});
const sims: PatientMonitorSim[] = [];
const sockets: net.Socket[] = [];

const monitor = (id: string, bedId: string) => {
  const sim = new PatientMonitorSim({
    id,
    bedId,
    patient: new PatientModel({ seed: sims.length + 1 }),
    gateway: driver.address(),
    intervalMs: 50,
    reconnectMinMs: 20,
    reconnectMaxMs: 200,
  });
  sims.push(sim);
  return sim;
};

/** A bare TCP client collecting the ACK frames the listener sends back. */
async function rawClient() {
  const socket = net.connect(driver.address());
  sockets.push(socket);
  await new Promise<void>((resolve, reject) => {
    socket.once('connect', resolve);
    socket.once('error', reject);
  });
  const decoder = new MllpDecoder();
  const acks: ReturnType<typeof readAck>[] = [];
  socket.on('data', (chunk: Buffer) => {
    for (const e of decoder.push(chunk))
      if (e.kind === 'frame') acks.push(readAck(parseHl7(e.text)));
  });
  return { socket, acks };
}

const statsOf = (id: string) => driver.stats().find((s) => s.deviceId === id)!;

test.before(async () => {
  await driver.start(sink);
});

test.after(async () => {
  await Promise.all(sims.map((s) => s.stop()));
  for (const socket of sockets) socket.destroy();
  await driver.stop();
});

test('binds a real port and lists its devices', () => {
  const { host, port } = driver.address();
  assert.is(host, '127.0.0.1');
  assert.ok(port > 0);
  assert.equal(driver.deviceIds, [
    'bed-1-monitor',
    'bed-2-monitor',
    'bed-3-monitor',
    'raw-monitor',
  ]);
  assert.is(driver.type, 'hl7-mllp');
});

test('two monitors at once: all nine parameters arrive with the configured bed, ACKs counted', async () => {
  const one = monitor('bed-1-monitor', 'bed-1');
  const two = monitor('bed-2-monitor', 'bed-2');
  await Promise.all([one.start(), two.start()]);
  await waitFor(() => one.counters.acked >= 3 && two.counters.acked >= 3, { what: 'acks' });

  const expected = parametersOf('monitor')
    .map((t) => t.mdc)
    .sort();
  for (const [id, bed] of [
    ['bed-1-monitor', 'icu-1'],
    ['bed-2-monitor', 'icu-2'],
  ]) {
    const readings = sink.readingsOf(id);
    assert.equal([...new Set(readings.map((r) => r.parameter))].sort(), expected);
    for (const r of readings) {
      assert.is(r.bedId, bed);
      assert.is(r.unit, parametersOf('monitor').find((t) => t.mdc === r.parameter)!.ucum);
      assert.is(r.quality, 'valid');
      assert.ok(Number.isFinite(r.value));
      assert.ok(r.gatewayTime >= r.deviceTime);
    }
    const stats = statsOf(id);
    assert.is(stats.state, 'online');
    assert.ok(stats.messages >= 3);
    assert.is(stats.errors, 0);
    assert.match(stats.detail, /^hl7-mllp listener 127\.0\.0\.1:\d+ from 127\.0\.0\.1:\d+$/);
  }
  assert.is(sink.statusesOf('bed-1-monitor')[0], 'online');
  assert.is(one.counters.rejected, 0);
  assert.is(one.counters.unmatched, 0);
  assert.ok(one.counters.sent - one.counters.acked <= 1, 'at most one message awaits its ACK');
  await Promise.all([one.stop(), two.stop()]);
});

test('an unknown device is answered AR and counted against no device', async () => {
  const before = driver.unattributedErrors;
  const stranger = monitor('stranger-monitor', 'bed-7');
  await stranger.start();
  await waitFor(() => stranger.counters.rejected >= 1, { what: 'AR for the unknown device' });
  await stranger.stop();
  assert.is(stranger.counters.acked, 0);
  assert.is(stranger.lastRejection?.code, 'AR');
  assert.match(stranger.lastRejection!.text, /unknown device "stranger-monitor"/);
  assert.ok(driver.unattributedErrors > before);
  assert.ok(
    sink.frameErrors.some((e) => e.deviceId === null && /stranger-monitor/.test(e.message)),
  );
  assert.equal(sink.readingsOf('stranger-monitor'), []);
});

test('garbage and a malformed frame are errors; the listener keeps serving', async () => {
  const before = driver.unattributedErrors;
  const { socket, acks } = await rawClient();
  socket.write(Buffer.concat([Buffer.from('hello?'), frameMllp('MSH|^~\rnot really|x\r')]));
  await waitFor(() => acks.length === 1, { what: 'AR for the malformed frame' });
  assert.is(acks[0].code, 'AR');
  assert.match(acks[0].text, /encoding characters/);
  assert.is(driver.unattributedErrors, before + 2);
  assert.ok(sink.frameErrors.some((e) => /bytes outside an MLLP frame/.test(e.message)));

  const hr = parametersOf('monitor')[0];
  const good = (controlId: string, value: number) =>
    frameMllp(
      buildOru({
        controlId,
        sendingApp: 'raw-monitor',
        bedId: 'ignored',
        time: Date.now(),
        observations: [{ parameter: hr.mdc, value }],
      }),
    );
  socket.write(good('raw-1', 61));
  await waitFor(() => acks.length === 2, { what: 'AA after the errors' });
  assert.equal(acks[1], { code: 'AA', controlId: 'raw-1', text: '' });

  // An over-long frame is dropped (and now blamed on the device this connection carries).
  socket.write(Buffer.concat([frameMllp(`MSH|${'x'.repeat(5000)}`), good('raw-1b', 62)]));
  await waitFor(() => acks.length === 3, { what: 'AA after the over-long frame' });
  assert.equal(acks[2], { code: 'AA', controlId: 'raw-1b', text: '' });
  assert.equal(
    sink.readingsOf('raw-monitor').map((r) => [r.bedId, r.value]),
    [
      ['icu-9', 61],
      ['icu-9', 62],
    ],
  );
  assert.match(statsOf('raw-monitor').lastError ?? '', /longer than 4096 bytes/);
  assert.is(statsOf('raw-monitor').errors, 1);
});

test('bad OBX: good observations kept, AE with the problem; an empty ORU^R40 answered AE', async () => {
  const { socket, acks } = await rawClient();
  const errorsBefore = statsOf('raw-monitor').errors;
  const readingsBefore = sink.readingsOf('raw-monitor').length;
  const partly = buildOru({
    controlId: 'raw-2',
    sendingApp: 'raw-monitor',
    bedId: 'x',
    time: Date.now(),
    observations: [{ parameter: 'MDC_RESP_RATE', value: 14 }],
  }).concat('OBX|2|NM|424242^MDC_MADE_UP^MDC||5|262688^MDC_DIM_PERCENT^MDC|||||R\r');
  socket.write(frameMllp(partly));
  await waitFor(() => acks.length === 1, { what: 'AE' });
  assert.is(acks[0].code, 'AE');
  assert.is(acks[0].controlId, 'raw-2');
  assert.match(acks[0].text, /unknown observation code/);
  const added = sink.readingsOf('raw-monitor').slice(readingsBefore);
  assert.equal(
    added.map((r) => [r.parameter, r.value]),
    [['MDC_RESP_RATE', 14]],
  );

  const alarm = buildOru({
    controlId: 'raw-3',
    sendingApp: 'raw-monitor',
    bedId: 'x',
    time: Date.now(),
    observations: [],
  }).replace('ORU^R01^ORU_R01', 'ORU^R40^ORU_R40');
  socket.write(frameMllp(alarm));
  await waitFor(() => acks.length === 2, { what: 'AE for ORU^R40' });
  assert.is(acks[1].code, 'AE');
  assert.is(acks[1].controlId, 'raw-3');
  assert.match(acks[1].text, /no event identification OBX/);
  assert.is(statsOf('raw-monitor').errors, errorsBefore + 2);
  assert.equal(sink.alarms, []);
});

test('the ACK waits for the store: AA only once committed, AE when the store refuses', async () => {
  const { socket, acks } = await rawClient();
  const oru = (controlId: string) =>
    frameMllp(
      buildOru({
        controlId,
        sendingApp: 'raw-monitor',
        bedId: 'icu-9',
        time: Date.now(),
        observations: [{ parameter: 'MDC_ECG_HEART_RATE', value: 80 }],
      }),
    );
  let open = () => {};
  sink.commitGate = new Promise<void>((resolve) => {
    open = resolve;
  });
  const before = sink.batches.length;
  socket.write(oru('HELD-1'));
  await waitFor(() => sink.batches.length > before, { what: 'the readings handed to the store' });
  assert.is(acks.length, 0, 'no ACK while the store has not committed');
  open();
  await waitFor(() => acks.length === 1, { what: 'the ACK after the commit' });
  assert.is(acks[0].code, 'AA');
  assert.is(acks[0].controlId, 'HELD-1');
  sink.commitGate = null;

  sink.refusing = true;
  socket.write(oru('REFUSED-1'));
  await waitFor(() => acks.length === 2, { what: 'the ACK of the refused message' });
  sink.refusing = false;
  assert.is(acks[1].code, 'AE');
  assert.match(acks[1].text, /could not store/);
});

test('silence flips a device offline and its next message brings it back online', async () => {
  // A raw client keeps its connection open, so only the silence timer can take the device offline.
  const { socket, acks } = await rawClient();
  const send = (controlId: string) =>
    socket.write(
      frameMllp(
        buildOru({
          controlId,
          sendingApp: 'bed-3-monitor',
          bedId: 'bed-3',
          time: Date.now(),
          observations: [{ parameter: 'MDC_TEMP_BODY', value: 37.1 }],
        }),
      ),
    );
  send('s-1');
  await waitFor(() => acks.length === 1, { what: 'first ACK' });
  assert.is(statsOf('bed-3-monitor').state, 'online');
  const seen = sink.statusesOf('bed-3-monitor').length;
  await waitFor(() => sink.statusesOf('bed-3-monitor').length > seen, { what: 'offline' });
  const offline = sink.statuses.filter((s) => s.deviceId === 'bed-3-monitor').at(-1)!;
  assert.is(offline.state, 'offline');
  assert.is(offline.error, 'no usable message for 0.3 s');
  assert.is(statsOf('bed-3-monitor').state, 'offline');

  send('s-2');
  await waitFor(() => sink.statusesOf('bed-3-monitor').at(-1) === 'online', {
    what: 'online again',
  });
  assert.is(statsOf('bed-3-monitor').messages, 2);
});

test('a monitor reconnects after its connection drops and is acked again', async () => {
  const sim = monitor('bed-2-monitor', 'bed-2');
  await sim.start();
  await waitFor(() => sim.counters.acked >= 1, { what: 'first ack' });
  await sim.stop();
  const acked = sim.counters.acked;
  await sim.start();
  await waitFor(() => sim.counters.acked > acked && sim.counters.connects === 2, {
    what: 'ack after reconnect',
  });
  await sim.stop();
});

test('a monitor started before the gateway listens keeps retrying with backoff', async () => {
  const spare = net.createServer();
  await new Promise<void>((resolve) => spare.listen(0, '127.0.0.1', resolve));
  const { port } = spare.address() as net.AddressInfo;
  await new Promise<void>((resolve) => spare.close(() => resolve()));
  const gateway = new MllpListenerDriver({
    host: '127.0.0.1',
    port,
    devices: [{ id: 'late-monitor', bed: 'icu-5' }],
  });
  const late = new PatientMonitorSim({
    id: 'late-monitor',
    bedId: 'bed-5',
    patient: new PatientModel({ seed: 5 }),
    gateway: { host: '127.0.0.1', port },
    intervalMs: 50,
    reconnectMinMs: 20,
    reconnectMaxMs: 100,
  });
  sims.push(late);
  const lateSink = new RecordingSink();
  try {
    await late.start();
    await waitFor(() => late.counters.connectFailures >= 2, { what: 'refused connects' });
    assert.is(late.isConnected, false);
    await gateway.start(lateSink);
    await waitFor(() => late.counters.acked >= 1, { what: 'ack once the gateway is up' });
    assert.ok(lateSink.readingsOf('late-monitor').every((r) => r.bedId === 'icu-5'));
  } finally {
    await late.stop();
    await gateway.stop();
  }
});

test('a monitor in desaturation reports ORU^R40: deviceAlarm active, AA; recovery ends it', async () => {
  const patient = new PatientModel({
    seed: 21,
    scenario: 'desaturation',
    onsetSeconds: 0,
    startedAt: Date.now() - 60_000,
  });
  const sim = new PatientMonitorSim({
    id: 'bed-1-monitor',
    bedId: 'bed-1',
    patient,
    gateway: driver.address(),
    intervalMs: 50,
    reconnectMinMs: 20,
    reconnectMaxMs: 200,
  });
  sims.push(sim);
  const alarmsOf = () => sink.alarms.filter((a) => a.deviceId === 'bed-1-monitor');
  await sim.start();
  const started = await waitFor(() => alarmsOf().find((a) => a.active), { what: 'the alarm' });
  assert.is(started.bedId, 'icu-1');
  assert.is(started.condition, 'MDC_EVT_LO');
  assert.is(started.parameter, 'MDC_PULS_OXIM_SAT_O2');
  assert.is(started.priority, 'high');
  assert.is(started.kind, 'physiological');
  assert.is(started.limit, 90);
  assert.ok(started.value !== undefined && started.value < 90, `SpO2 ${started.value}`);
  assert.is(started.message, 'SpO2 low');
  assert.ok(Math.abs(started.time - Date.now()) < 5000);
  await waitFor(() => sim.counters.alarmsAcked >= 1, { what: 'AA for the ORU^R40' });
  assert.is(sim.counters.alarmStarts, 1);
  assert.is(sim.counters.alarmsRejected, 0);
  assert.equal(sim.activeAlarmConditions, ['MDC_EVT_LO MDC_PULS_OXIM_SAT_O2']);
  // Observations keep flowing between the alarm reports.
  const acked = sim.counters.acked;
  await waitFor(() => sim.counters.acked > acked + 1, { what: 'ORU^R01 after the alarm' });

  patient.setScenario('stable');
  const ended = await waitFor(() => alarmsOf().find((a) => !a.active), { what: 'the alarm end' });
  assert.is(ended.condition, 'MDC_EVT_LO');
  assert.is(ended.parameter, 'MDC_PULS_OXIM_SAT_O2');
  assert.ok(ended.value !== undefined && ended.value >= 91, `SpO2 ${ended.value}`);
  await waitFor(() => sim.counters.alarmsAcked >= 2, { what: 'AA for the end' });
  assert.is(sim.counters.alarmEnds, 1);
  assert.equal(sim.activeAlarmConditions, []);
  assert.is(alarmsOf().length, 2, 'one start, one end');
  assert.is(statsOf('bed-1-monitor').errors, 0);
  await sim.stop();
});

test('raw ORU^R40: an end report is AA and inactive; a malformed one is AE and a frame error', async () => {
  const { socket, acks } = await rawClient();
  const before = sink.alarms.length;
  const errorsBefore = statsOf('raw-monitor').errors;
  const report = (controlId: string, phase: 'start' | 'end') =>
    buildAlarmOru({
      controlId,
      sendingApp: 'raw-monitor',
      bedId: 'ignored',
      time: Date.UTC(2025, 0, 2, 3, 4, 5),
      alarm: {
        alarmId: 'vent-7',
        condition: 'MDC_EVT_APNEA',
        parameter: 'MDC_RESP_RATE',
        value: 0,
        limit: 5,
        priority: 'high',
        kind: 'physiological',
        phase,
      },
    });
  socket.write(frameMllp(report('r40-end', 'end')));
  await waitFor(() => acks.length === 1, { what: 'the ACK of the end report' });
  assert.equal(acks[0], { code: 'AA', controlId: 'r40-end', text: '' });
  assert.equal(sink.alarms.slice(before), [
    {
      deviceId: 'raw-monitor',
      bedId: 'icu-9',
      condition: 'MDC_EVT_APNEA',
      parameter: 'MDC_RESP_RATE',
      priority: 'high',
      kind: 'physiological',
      active: false,
      value: 0,
      limit: 5,
      time: Date.UTC(2025, 0, 2, 3, 4, 5),
    },
  ]);

  socket.write(frameMllp(report('r40-bad', 'start').replace('|start|', '|begun|')));
  await waitFor(() => acks.length === 2, { what: 'the ACK of the malformed report' });
  assert.is(acks[1].code, 'AE');
  assert.is(acks[1].controlId, 'r40-bad');
  assert.match(acks[1].text, /event phase "begun"/);
  assert.is(sink.alarms.length, before + 1, 'no alarm from the malformed report');
  assert.is(statsOf('raw-monitor').errors, errorsBefore + 1);
  assert.ok(
    sink.frameErrors.some((e) => e.deviceId === 'raw-monitor' && /r40-bad.*begun/.test(e.message)),
  );
});

test('stop() closes the listener', async () => {
  const { port } = driver.address();
  await Promise.all(sims.map((s) => s.stop()));
  for (const socket of sockets) socket.destroy();
  await driver.stop();
  const refused = await new Promise<string>((resolve) => {
    const probe = net.connect({ host: '127.0.0.1', port });
    probe.once('connect', () => {
      probe.destroy();
      resolve('connected');
    });
    probe.once('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
  });
  assert.is(refused, 'ECONNREFUSED');
});

test.run();
