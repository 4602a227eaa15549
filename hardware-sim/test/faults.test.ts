// The simulator's device faults, seen from a client socket over loopback: what a gateway would
// meet. The gateway's side of each fault is in e2e/test/device-faults.test.ts.
import net from 'node:net';
import { parseOximeterLine } from '@wardgate/shared';
import { waitFor } from '@wardgate/shared/testing';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { parseFault } from '../src/faults.ts';
import { PatientMonitorSim } from '../src/monitor.ts';
import { OximeterSim } from '../src/oximeter.ts';
import { PatientModel } from '../src/physiology.ts';

const patient = () => new PatientModel({ seed: 3, scenario: 'stable' });

/** A client of the oximeter's serial device server, collecting what arrives. */
function listen(port: number) {
  const socket = net.connect({ host: '127.0.0.1', port });
  const received: { at: number; bytes: Buffer }[] = [];
  socket.on('data', (bytes: Buffer) => received.push({ at: Date.now(), bytes }));
  const opened = new Promise<void>((resolve, reject) => {
    socket.once('connect', () => resolve());
    socket.once('error', reject);
  });
  opened.catch(() => {}); // a refusal is an outcome the tests look at, not a crash
  socket.on('error', () => {});
  const text = () => Buffer.concat(received.map((r) => r.bytes)).toString('latin1');
  return { socket, received, opened, text, lines: () => text().split('\r\n').filter(Boolean) };
}

async function withOximeter(run: (oxi: OximeterSim, port: number) => Promise<void>) {
  const oxi = new OximeterSim({ id: 'oxi-f', bedId: 'bed-1', patient: patient(), intervalMs: 50 });
  await oxi.start();
  try {
    await run(oxi, Number(oxi.address().port));
  } finally {
    await oxi.stop();
  }
}

test('parseFault reads every fault and explains a bad one', () => {
  assert.equal(parseFault('unplugged'), { kind: 'unplugged' });
  assert.equal(parseFault('slow:3000'), { kind: 'slow', delayMs: 3000 });
  assert.equal(parseFault('modbus-exception:6'), { kind: 'modbus-exception', code: 6 });
  assert.equal(parseFault('flapping:2000/500'), { kind: 'flapping', upMs: 2000, downMs: 500 });
  assert.throws(() => parseFault('slow'), /delay \(ms\) must be a whole number/);
  assert.throws(() => parseFault('flapping:2000'), /down ms must be a whole number/);
  assert.throws(
    () => parseFault('on-fire'),
    /unknown fault "on-fire"; one of unplugged, half-open/,
  );
});

test('a device refuses a fault it cannot have, naming the ones it can', () => {
  const monitor = new PatientMonitorSim({
    id: 'mon-f',
    bedId: 'bed-1',
    patient: patient(),
    gateway: { host: '127.0.0.1', port: 1 },
  });
  assert.throws(
    () => monitor.setFault({ kind: 'modbus-exception', code: 4 }),
    /mon-f cannot simulate "modbus-exception"; it supports unplugged, half-open/,
  );
});

test('unplugged: connections refused on the device port; plugged back, the same port answers', async () => {
  await withOximeter(async (oxi, port) => {
    const connected = listen(port);
    await connected.opened;
    const closed = new Promise((resolve) => connected.socket.once('close', resolve));
    oxi.setFault({ kind: 'unplugged' });
    await closed;
    const refused = listen(port);
    const refusal = await refused.opened.then(
      () => 'connected',
      (error: Error) => error.message,
    );
    assert.match(refusal, /ECONNREFUSED/);
    oxi.setFault(null);
    const again = await waitFor(async () => {
      const client = listen(port);
      return client.opened.then(
        () => client,
        () => null,
      );
    });
    await waitFor(() => again.lines().length > 0, { what: 'a line after replugging' });
    again.socket.destroy();
  });
});

test('half-open: the connection stays up but nothing comes through', async () => {
  await withOximeter(async (oxi, port) => {
    const client = listen(port);
    await client.opened;
    await waitFor(() => client.lines().length > 0, { what: 'a first line' });
    oxi.setFault({ kind: 'half-open' });
    const before = client.text().length;
    const swallowed = oxi.link.swallowedBytes;
    await waitFor(() => oxi.link.swallowedBytes > swallowed + 200, { what: 'lines swallowed' });
    assert.is(client.text().length, before, 'nothing reached the client');
    assert.not.ok(client.socket.destroyed, 'no FIN, no RST');
    client.socket.destroy();
  });
});

test('slow: every line arrives at least the delay after the device printed it', async () => {
  await withOximeter(async (oxi, port) => {
    oxi.setFault({ kind: 'slow', delayMs: 1500 });
    const client = listen(port);
    await client.opened;
    await waitFor(() => client.received.length > 0, { what: 'a delayed line' });
    const first = client.received[0];
    const line = parseOximeterLine(first.bytes.toString('latin1').split('\r\n')[0]);
    assert.ok(line.ok, 'the line itself is intact');
    // The line's clock has whole seconds: it was printed at most 1 s before its stamp + 1 s.
    if (line.ok) assert.ok(first.at - (line.time + 1000) >= 500, 'held back ≥ 1.5 s');
    client.socket.destroy();
  });
});

test('garbage: bytes that are not oximeter lines; malformed-line: lines the format refuses', async () => {
  await withOximeter(async (oxi, port) => {
    oxi.setFault({ kind: 'garbage' });
    const noisy = listen(port);
    await noisy.opened;
    await waitFor(() => noisy.text().length > 400, { what: 'noise' });
    // Random bytes: far more outside printable ASCII than any real line has (none).
    const unprintable = [...noisy.text()].filter((c) => c < ' ' && c !== '\r' && c !== '\n');
    assert.ok(unprintable.length > 20, `${unprintable.length} unprintable bytes`);
    noisy.socket.destroy();

    oxi.setFault({ kind: 'malformed-line' });
    const broken = listen(port);
    await broken.opened;
    await waitFor(() => broken.lines().length >= 7, { what: 'seven lines' });
    const lines = broken.lines().slice(1); // the first may predate the switch by a tick
    for (const line of lines)
      assert.not.ok(parseOximeterLine(line).ok && line.length < 512, `accepted: ${line}`);
    broken.socket.destroy();
  });
});

test('flapping: the port goes away and comes back by itself, again and again', async () => {
  await withOximeter(async (oxi, port) => {
    oxi.setFault({ kind: 'flapping', upMs: 150, downMs: 150 });
    const outcomes = new Set<string>();
    await waitFor(
      async () => {
        const client = listen(port);
        outcomes.add(
          await client.opened.then(
            () => 'open',
            () => 'refused',
          ),
        );
        client.socket.destroy();
        return outcomes.size === 2;
      },
      { intervalMs: 40, what: 'both an open and a refused connection' },
    );
    oxi.setFault(null);
  });
});

test.run();
