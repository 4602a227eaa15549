// Crash safety of the whole spine: the gateway runs as a child process and is killed with SIGKILL
// at random moments while a simulated ward streams into it, again and again. Afterwards what the
// gateway committed to its SQLite outbox and what the cloud holds must match exactly: every seq
// from 1 to last_seq present on both sides, once, with the same content.
//
// The kill moments come from a seeded PRNG: a failure prints its seed, and KILL9_SEED=<seed>
// replays the same kill schedule (the ward's timing still varies from run to run).
import { type ChildProcess, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import {
  closeSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { seedDemo } from '@wardgate/cloud/src/beds/seed-demo.ts';
import { alarmEvents, readings } from '@wardgate/cloud/src/db/schema.ts';
import { startCloud } from '@wardgate/cloud/src/server.ts';
import { testDatabaseTargets } from '@wardgate/cloud/test/support/test-database.ts';
import type { EdgeStore } from '@wardgate/edge/src/store/store.ts';
import { seededRandom, Ward } from '@wardgate/hardware-sim';
import { generateSigningKeyPair, initCrypto } from '@wardgate/shared';
import { freePort, waitFor } from '@wardgate/shared/testing';
import { asc, eq } from 'drizzle-orm';
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { stringify } from 'yaml';

const GATEWAY = 'ward-kill9';
const KILLS = 20;
const BEDS = 4;
const EDGE_CLI = fileURLToPath(new URL('../../edge/bin/wardgate-edge.mjs', import.meta.url));

// better-sqlite3 is the edge's dependency, not this package's: load it the way the edge does.
type SqliteDatabase = EdgeStore['sqlite'];
const Sqlite = createRequire(import.meta.resolve('@wardgate/edge/src/store/store.ts'))(
  'better-sqlite3',
) as new (
  file: string,
  options: { readonly: boolean; fileMustExist: boolean },
) => SqliteDatabase;

interface Cursor {
  lastSeq: number;
  ackedUpTo: number;
}
type Cursors = Record<'readings' | 'alarms', Cursor>;

/** Reads the gateway's SQLite file from outside, read-only, as it stands now. */
function readEdge<T>(file: string, read: (db: SqliteDatabase) => T): T {
  const db = new Sqlite(file, { readonly: true, fileMustExist: true });
  try {
    return read(db);
  } finally {
    db.close();
  }
}

function cursorsOf(db: SqliteDatabase): Cursors {
  const rows = db.prepare('SELECT stream, last_seq, acked_up_to FROM streams').all() as {
    stream: 'readings' | 'alarms';
    last_seq: number;
    acked_up_to: number;
  }[];
  const cursors = {} as Cursors;
  for (const row of rows)
    cursors[row.stream] = { lastSeq: row.last_seq, ackedUpTo: row.acked_up_to };
  if (!cursors.readings || !cursors.alarms) throw new Error('the streams table is not set up yet');
  return cursors;
}

// The compared content of each record: every field the gateway sends (the cloud adds patientId
// and receivedAt of its own). Edge columns are aliased to the cloud's property names.
const READING_COLUMNS = {
  seq: 'seq',
  deviceId: 'device_id',
  bedId: 'bed_id',
  parameter: 'parameter',
  value: 'value',
  unit: 'unit',
  deviceTime: 'device_time',
  gatewayTime: 'gateway_time',
  quality: 'quality',
} as const;
const ALARM_COLUMNS = {
  seq: 'seq',
  alarmId: 'alarm_id',
  deviceId: 'device_id',
  bedId: 'bed_id',
  source: 'source',
  condition: 'condition',
  parameter: 'parameter',
  priority: 'priority',
  kind: 'kind',
  transition: 'transition',
  value: 'value',
  limit: '"limit"',
  actor: 'actor',
  message: 'message',
  time: 'time',
} as const;

type Row = Record<string, unknown> & { seq: number };

function edgeRows(db: SqliteDatabase, table: string, columns: Record<string, string>): Row[] {
  const select = Object.entries(columns)
    .map(([name, column]) => `${column} AS "${name}"`)
    .join(', ');
  return db.prepare(`SELECT ${select} FROM ${table} ORDER BY seq`).all() as Row[];
}

const line = (row: Row, names: string[]) => JSON.stringify(names.map((n) => row[n] ?? null));

/**
 * Exact reconciliation of one stream: the edge holds seq 1..lastSeq without a gap, the cloud holds
 * the same seqs once each, and record by record the same content (with a digest for the message).
 */
function reconcile(stream: string, lastSeq: number, edge: Row[], cloud: Row[], names: string[]) {
  const edgeSeqs = edge.map((r) => r.seq);
  const cloudSeqs = cloud.map((r) => r.seq);
  const firstGap = (seqs: number[]) => seqs.findIndex((seq, i) => seq !== i + 1);
  assert.is(firstGap(edgeSeqs), -1, `${stream}: edge seq gap at index ${firstGap(edgeSeqs)}`);
  assert.is(edge.length, lastSeq, `${stream}: the edge holds every seq 1..${lastSeq}`);
  assert.is(new Set(cloudSeqs).size, cloud.length, `${stream}: a seq twice in the cloud`);
  assert.is(firstGap(cloudSeqs), -1, `${stream}: cloud seq gap at index ${firstGap(cloudSeqs)}`);
  assert.is(cloud.length, lastSeq, `${stream}: the cloud holds ${cloud.length} of ${lastSeq}`);
  const digest = (rows: Row[]) => {
    const hash = createHash('sha256');
    for (const row of rows) hash.update(`${line(row, names)}\n`);
    return hash.digest('hex');
  };
  const differing = edge.findIndex((row, i) => line(row, names) !== line(cloud[i], names));
  assert.is(
    digest(cloud),
    digest(edge),
    `${stream}: content differs first at seq ${edge[differing]?.seq}: edge ${
      differing >= 0 ? line(edge[differing], names) : ''
    } cloud ${differing >= 0 ? line(cloud[differing], names) : ''}`,
  );
}

for (const target of testDatabaseTargets()) {
  test(`${target.name}: ${KILLS} kill -9 during ingest lose no committed record, duplicate none, leave no seq gap`, async () => {
    const seed = Number(process.env.KILL9_SEED ?? Math.floor(Math.random() * 2 ** 32));
    console.log(`kill9 (${target.name}): seed ${seed} (replay with KILL9_SEED=${seed})`);
    // Seeded, so a failing kill schedule can be replayed (KILL9_SEED).
    const random = seededRandom(seed);
    await initCrypto();
    const dir = mkdtempSync(join(tmpdir(), 'wardgate-kill9-'));
    const storeFile = join(dir, 'edge', 'wardgate-edge.sqlite');
    const logFile = join(dir, 'gateway.log');
    const database = await target.open();
    const cloud = await startCloud({ database, httpPort: 0, mqttPort: 0, log: () => {} });
    const ward = new Ward({
      beds: BEDS,
      monitorIntervalMs: 100,
      oximeterIntervalMs: 100,
      seed: seed % 1000,
      // Physiological alarms as well as readings, so both streams are exercised.
      scenarios: { 'bed-1': 'desaturation', 'bed-2': 'tachycardia' },
    });
    let child: ChildProcess | null = null;
    let passed = false;

    const startGateway = (label: string): ChildProcess => {
      const log = openSync(logFile, 'a');
      writeFileSync(log, `\n--- ${label}\n`);
      const started = spawn(
        process.execPath,
        [EDGE_CLI, 'run', '--config', join(dir, 'edge.yaml')],
        {
          stdio: ['ignore', log, log],
        },
      );
      closeSync(log);
      return started;
    };
    const exited = (c: ChildProcess) =>
      new Promise<void>((resolve) => {
        if (c.exitCode !== null || c.signalCode !== null) resolve();
        else c.once('exit', () => resolve());
      });
    const cursors = () => readEdge(storeFile, cursorsOf);
    /** Waits until the running gateway committed readings beyond `afterSeq`. */
    const ingesting = async (c: ChildProcess, afterSeq: number, what: string) => {
      const outcome = await waitFor(
        () => {
          if (c.exitCode !== null || c.signalCode !== null) return 'exited';
          return cursors().readings.lastSeq > afterSeq && 'ingesting';
        },
        { timeoutMs: 20_000, what },
      );
      if (outcome === 'exited') throw new Error(`the gateway exited by itself (${what})`);
    };

    try {
      const keys = generateSigningKeyPair();
      await seedDemo(database.db, { gatewayId: GATEWAY, beds: BEDS, at: Date.now() - 60_000 });
      await cloud.addGateway({ id: GATEWAY, publicKey: keys.publicKey, password: 'kill9-secret' });
      await ward.startListeners();
      // A fixed MLLP port: every restarted gateway listens where the monitors reconnect to.
      const mllpPort = await freePort();
      const keyFile = join(dir, 'gateway.key');
      writeFileSync(keyFile, `${keys.secretKey}\n`);
      writeFileSync(
        join(dir, 'edge.yaml'),
        stringify({
          gateway: { id: GATEWAY, dataDir: join(dir, 'edge') },
          cloud: {
            mqttUrl: cloud.mqttUrl,
            password: 'kill9-secret',
            signingKeyFile: keyFile,
            batchWindowMs: 50,
          },
          http: { host: '127.0.0.1', port: 0 },
          mllp: { host: '127.0.0.1', port: mllpPort },
          devices: ward.edgeDevices({ pollIntervalMs: 200 }),
        }),
      );
      await ward.startMonitors({ host: '127.0.0.1', port: mllpPort });

      const startupMs: number[] = [];
      let before: Cursors = {
        readings: { lastSeq: 0, ackedUpTo: 0 },
        alarms: { lastSeq: 0, ackedUpTo: 0 },
      };
      for (let kill = 1; kill <= KILLS; kill++) {
        const afterMs = Math.round(200 + random() * 1300);
        const spawnedAt = Date.now();
        child = startGateway(`run ${kill}: SIGKILL ${afterMs} ms into ingest`);
        await ingesting(child, before.readings.lastSeq, `ingest after restart ${kill}`);
        startupMs.push(Date.now() - spawnedAt);
        // The one intended timer: the random moment of the kill, not a synchronisation.
        await delay(afterMs);
        child.kill('SIGKILL');
        await exited(child);
        assert.is(child.signalCode, 'SIGKILL', `run ${kill} died of the SIGKILL`);
        child = null;

        // What survived the kill is consistent: seqs never reused or rolled back, rows 1..last.
        const count = (db: SqliteDatabase, table: string) =>
          (db.prepare(`SELECT count(*) AS n FROM ${table}`).get() as { n: number }).n;
        const [now, readingCount, alarmCount] = readEdge(storeFile, (db) => [
          cursorsOf(db),
          count(db, 'readings'),
          count(db, 'alarm_events'),
        ]) as [Cursors, number, number];
        for (const stream of ['readings', 'alarms'] as const) {
          assert.ok(
            now[stream].lastSeq >= before[stream].lastSeq,
            `${stream} last_seq rolled back`,
          );
          assert.ok(now[stream].ackedUpTo >= before[stream].ackedUpTo, `${stream} ack rolled back`);
          assert.ok(now[stream].ackedUpTo <= now[stream].lastSeq, `${stream} acked beyond last`);
        }
        assert.is(readingCount, now.readings.lastSeq, `after kill ${kill}: readings 1..last_seq`);
        assert.is(alarmCount, now.alarms.lastSeq, `after kill ${kill}: alarm events 1..last_seq`);
        before = now;
      }

      // Once more, undisturbed: then the ward falls silent and the gateway drains to the cloud.
      child = startGateway('final run: drain, then SIGTERM');
      await ingesting(child, before.readings.lastSeq, 'ingest in the final run');
      await ward.stop();
      let final: Cursors = before;
      // Shutting down may itself commit an alarm event (devices going silent): then the next run
      // sends it. Three clean stops are plenty; each must leave nothing unacked behind to pass.
      for (let drain = 1; drain <= 3; drain++) {
        const running: ChildProcess = child ?? startGateway(`drain run ${drain}`);
        child = running;
        await waitFor(
          () => {
            const c = cursors();
            return (
              c.readings.ackedUpTo === c.readings.lastSeq && c.alarms.ackedUpTo === c.alarms.lastSeq
            );
          },
          { timeoutMs: 30_000, what: 'the cloud to ack every committed record' },
        );
        running.kill('SIGTERM');
        await exited(running);
        assert.is(running.exitCode, 0, 'the gateway stops cleanly on SIGTERM');
        child = null;
        final = cursors();
        if (
          final.readings.ackedUpTo === final.readings.lastSeq &&
          final.alarms.ackedUpTo === final.alarms.lastSeq
        )
          break;
      }

      const edge = readEdge(storeFile, (db) => ({
        readings: edgeRows(db, 'readings', READING_COLUMNS),
        alarms: edgeRows(db, 'alarm_events', ALARM_COLUMNS),
      }));
      const cloudReadings = await database.db
        .select({
          seq: readings.seq,
          deviceId: readings.deviceId,
          bedId: readings.bedId,
          parameter: readings.parameter,
          value: readings.value,
          unit: readings.unit,
          deviceTime: readings.deviceTime,
          gatewayTime: readings.gatewayTime,
          quality: readings.quality,
        })
        .from(readings)
        .where(eq(readings.gatewayId, GATEWAY))
        .orderBy(asc(readings.seq));
      const cloudAlarms = await database.db
        .select({
          seq: alarmEvents.seq,
          alarmId: alarmEvents.alarmId,
          deviceId: alarmEvents.deviceId,
          bedId: alarmEvents.bedId,
          source: alarmEvents.source,
          condition: alarmEvents.condition,
          parameter: alarmEvents.parameter,
          priority: alarmEvents.priority,
          kind: alarmEvents.kind,
          transition: alarmEvents.transition,
          value: alarmEvents.value,
          limit: alarmEvents.limit,
          actor: alarmEvents.actor,
          message: alarmEvents.message,
          time: alarmEvents.time,
        })
        .from(alarmEvents)
        .where(eq(alarmEvents.gatewayId, GATEWAY))
        .orderBy(asc(alarmEvents.seq));

      console.log(
        `kill9 (${target.name}): ${KILLS} kills (spawn to ingest: mean ${Math.round(
          startupMs.reduce((a, b) => a + b, 0) / startupMs.length,
        )} ms, max ${Math.max(...startupMs)} ms); ${final.readings.lastSeq} readings and ${
          final.alarms.lastSeq
        } alarm events reconciled`,
      );
      assert.ok(final.readings.lastSeq > KILLS, 'readings were ingested across the kills');
      reconcile(
        'readings',
        final.readings.lastSeq,
        edge.readings,
        cloudReadings,
        Object.keys(READING_COLUMNS),
      );
      reconcile(
        'alarm events',
        final.alarms.lastSeq,
        edge.alarms,
        cloudAlarms,
        Object.keys(ALARM_COLUMNS),
      );
      passed = true;
    } catch (error) {
      const log = existsSync(logFile) ? readFileSync(logFile, 'utf8').slice(-6000) : '(no log)';
      (error as Error).message +=
        `\nseed ${seed} (KILL9_SEED=${seed}); files kept in ${dir}\n--- gateway log (tail)\n${log}`;
      throw error;
    } finally {
      if (child && child.exitCode === null && child.signalCode === null) {
        child.kill('SIGKILL');
        await exited(child);
      }
      await ward.stop();
      await cloud.stop();
      if (passed) rmSync(dir, { recursive: true, force: true });
    }
  });
}

test.run();
