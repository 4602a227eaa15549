import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { ReadingInput } from '@wardgate/shared';
import { Reading } from '@wardgate/shared';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { ReadingWriter } from '../src/store/reading-writer.ts';
import { EdgeStore } from '../src/store/store.ts';

const dir = mkdtempSync(join(tmpdir(), 'wardgate-store-'));
test.after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const freshFile = () => join(dir, `store-${++n}.sqlite`);

const reading = (i: number, time = 1_700_000_000_000 + i): ReadingInput => ({
  deviceId: 'bed-1-monitor',
  bedId: 'bed-1',
  parameter: 'MDC_ECG_HEART_RATE',
  value: 60 + (i % 40),
  unit: '/min',
  deviceTime: time,
  gatewayTime: time,
  quality: 'valid',
});

test('readings get consecutive seqs, are in WAL mode and read back as valid Reading records', () => {
  const store = new EdgeStore(freshFile());
  try {
    const stored = store.appendReadings([reading(1), reading(2), reading(3)]);
    assert.equal(stored, { firstSeq: 1, lastSeq: 3 });
    const pending = store.pending('readings', 0, 10);
    assert.is(pending.length, 3);
    for (const r of pending) Reading.parse(r);
    assert.equal(
      store.pending('readings', 2, 10).map((r) => r.seq),
      [3],
    );
    assert.is(store.backlog('readings'), 3);
    assert.is(store.sqlite.pragma('journal_mode', { simple: true }), 'wal');
    assert.is(store.sqlite.pragma('synchronous', { simple: true }), 2);
  } finally {
    store.close();
  }
});

test('seq survives a restart, and is never reused after acked rows are pruned', () => {
  const file = freshFile();
  let store = new EdgeStore(file);
  store.appendReadings([reading(1, 1000), reading(2, 2000)]);
  store.appendAlarmEvents([
    {
      alarmId: 'a1',
      deviceId: 'bed-1-vent',
      bedId: 'bed-1',
      source: 'device',
      condition: 'X',
      priority: 'high',
      kind: 'physiological',
      transition: 'raised',
      time: 5,
    },
  ]);
  assert.ok(store.ack('readings', 2));
  assert.is(store.pruneAckedReadings(10_000), 2);
  store.close();

  store = new EdgeStore(file);
  try {
    assert.equal(store.cursor('readings'), {
      lastSeq: 2,
      ackedUpTo: 2,
      ackedAt: store.cursor('readings').ackedAt,
    });
    assert.equal(store.appendReadings([reading(3)]), { firstSeq: 3, lastSeq: 3 });
    assert.equal(
      store
        .appendAlarmEvents([
          {
            alarmId: 'a1',
            deviceId: 'bed-1-vent',
            bedId: 'bed-1',
            source: 'device',
            condition: 'X',
            priority: 'high',
            kind: 'physiological',
            transition: 'cleared',
            time: 6,
          },
        ])
        .map((e) => e.seq),
      [2],
    );
    const alarms = store.pending('alarms', 0, 10);
    assert.equal(
      alarms.map((a) => a.transition),
      ['raised', 'cleared'],
    );
    assert.not.ok('parameter' in alarms[0], 'absent optional fields stay absent');
  } finally {
    store.close();
  }
});

test('acks only move forward and never past the last seq; pruning never touches unacked rows', () => {
  const store = new EdgeStore(freshFile());
  try {
    store.appendReadings([reading(1, 1), reading(2, 2), reading(3, 3)]);
    assert.not.ok(store.ack('readings', 4), 'an ack beyond what was sent is ignored');
    assert.ok(store.ack('readings', 2));
    assert.not.ok(store.ack('readings', 1), 'acks never move backwards');
    assert.is(store.pruneAckedReadings(Number.MAX_SAFE_INTEGER), 2);
    assert.equal(
      store.pending('readings', 0, 10).map((r) => r.seq),
      [3],
    );
  } finally {
    store.close();
  }
});

test('the reading writer coalesces small batches into one transaction and keeps order', async () => {
  const store = new EdgeStore(freshFile());
  const writer = new ReadingWriter(store, { windowMs: 5 });
  try {
    const committed = new Promise<number>((resolve) =>
      store.once('appended', (_s, last) => resolve(last)),
    );
    for (let i = 0; i < 10; i++) writer.write([reading(i * 2), reading(i * 2 + 1)]);
    assert.is(store.backlog('readings'), 0, 'nothing committed before the window closes');
    assert.is(await committed, 20);
    assert.is(writer.transactions, 1);
    assert.equal(
      store.pending('readings', 0, 100).map((r) => r.deviceTime - 1_700_000_000_000),
      Array.from({ length: 20 }, (_, i) => i),
    );
  } finally {
    writer.close();
    store.close();
  }
});

test('a failed commit keeps the readings and the writer commits them once the store works', () => {
  const store = new EdgeStore(freshFile());
  const errors: string[] = [];
  const writer = new ReadingWriter(store, { windowMs: 1, onError: (e) => errors.push(e.message) });
  try {
    store.sqlite.exec(
      "CREATE TRIGGER refuse BEFORE INSERT ON readings BEGIN SELECT RAISE(ABORT, 'disk says no'); END",
    );
    writer.write([reading(1)]);
    assert.is(writer.flush(), null);
    assert.is(errors.length, 1);
    assert.match(errors[0], /disk says no/);
    assert.is(writer.heldCount, 1);
    assert.is(store.cursor('readings').lastSeq, 0, 'a failed transaction hands out no seq');
    store.sqlite.exec('DROP TRIGGER refuse');
    assert.equal(writer.flush(), { firstSeq: 1, lastSeq: 1 });
    assert.is(writer.heldCount, 0);
  } finally {
    writer.close();
    store.close();
  }
});

test('write() resolves only once its readings are committed, and false when the writer is full', async () => {
  const store = new EdgeStore(freshFile());
  const writer = new ReadingWriter(store, { windowMs: 5, maxHeld: 3 });
  try {
    const committed = writer.write([reading(1), reading(2)]);
    assert.is(store.backlog('readings'), 0);
    assert.is(await committed, true);
    assert.is(store.backlog('readings'), 2, 'committed by the time the promise says so');
    store.sqlite.exec(
      "CREATE TRIGGER refuse BEFORE INSERT ON readings BEGIN SELECT RAISE(ABORT, 'disk full'); END",
    );
    const held = writer.write([reading(3), reading(4), reading(5)]);
    writer.flush();
    assert.is(await writer.write([reading(6)]), false, 'refused: three readings are already held');
    assert.is(writer.refused, 1);
    store.sqlite.exec('DROP TRIGGER refuse');
    writer.flush();
    assert.is(await held, true, 'the held readings resolve once a retry commits them');
  } finally {
    writer.close();
    store.close();
  }
});

test('low-disk pruning removes the oldest acked readings first and never an unacked one', () => {
  const store = new EdgeStore(freshFile());
  try {
    store.appendReadings(Array.from({ length: 10 }, (_, i) => reading(i)));
    store.ack('readings', 6);
    assert.is(store.pruneOldestAckedReadings(4), 4);
    assert.equal(
      store.pending('readings', 0, 100).map((r) => r.seq),
      [5, 6, 7, 8, 9, 10],
    );
    assert.is(store.pruneOldestAckedReadings(100), 2, 'only the acked ones');
    assert.equal(
      store.pending('readings', 0, 100).map((r) => r.seq),
      [7, 8, 9, 10],
    );
    assert.is(store.pruneOldestAckedReadings(100), 0);
    assert.is(store.sqlite.pragma('auto_vacuum', { simple: true }), 2, 'incremental vacuum on');
  } finally {
    store.close();
  }
});

test.run();
