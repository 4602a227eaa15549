// `npm run bench`: the throughput and memory figures of the spine, printed.
//   1. readings/s committed to the edge's SQLite through the batching writer
//   2. readings/s end to end, edge outbox → MQTT → cloud committed, on PGlite and on PostgreSQL
//      (TEST_DATABASE_URL, or a local server at 127.0.0.1:5432/test when one answers)
//   3. the edge process's peak RSS while draining
//   4. alarm latency, device message → nurse screen feed and → cloud commit, 4 and 60 beds
//   5. the gateway process on a live 30-bed ward (120 devices): CPU per 1,000 readings, peak RSS
//   6. backlog drain after a 1-hour outage of that ward, against 20× its live rate
//   7. FHIR: Observation creates/s through the API, and Observation?patient&code&date p50/p95
//      among 1,000,000 stored (PGlite, PostgreSQL)
//   8. security: added latency of authentication + authorization + audit per FHIR read, p50/p99,
//      and sign-in time with the chosen Argon2id parameters
//   9. encrypted backup, restore and verified restore of a seeded database, rows/s and MB/s
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openDatabase } from '@wardgate/cloud/src/db/database.ts';
import { testDatabaseTargets } from '@wardgate/cloud/test/support/test-database.ts';
import pg from 'pg';
import { benchAlarmLatency } from './alarm-latency.ts';
import { benchBackup, describeBackupFigures } from './backup.ts';
import { benchEdgeStore } from './edge-store.ts';
import { benchEndToEnd, type EndToEndFigures } from './end-to-end.ts';
import { benchObservationSearch } from './fhir-observations.ts';
import { benchGatewayFootprint } from './gateway-footprint.ts';
import { benchSecurityOverhead } from './security-overhead.ts';

const TARGETS = {
  edgeStore: 100_000,
  pglite: 10_000,
  postgres: 30_000,
  alarmScreenP99Ms: 250,
  alarmCloudP99Ms: 1000,
  fhirCreatesPerSecond: 1000,
  fhirSearchP95Ms: 50,
  securityAddedP50Ms: 2,
};
const rate = (n: number) => `${Math.round(n).toLocaleString('en-US')} readings/s`;
const verdict = (value: number, target: number) => (value >= target ? 'meets' : 'BELOW');

async function localPostgres(): Promise<string | undefined> {
  const url = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test';
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2000 });
  try {
    await client.connect();
    return url;
  } catch {
    return undefined;
  } finally {
    await client.end().catch(() => {});
  }
}

console.log(
  'wardgate bench (%d CPUs, Node %s)\n',
  (await import('node:os')).cpus().length,
  process.version,
);

const store = benchEdgeStore();
console.log(
  `edge store:            ${rate(store.readingsPerSecond)} (${store.readings.toLocaleString('en-US')} readings, ${store.transactions} transactions; target ≥ ${rate(TARGETS.edgeStore)}: ${verdict(store.readingsPerSecond, TARGETS.edgeStore)})`,
);

const results: EndToEndFigures[] = [];
const pgliteDir = mkdtempSync(join(tmpdir(), 'wardgate-bench-pglite-'));
try {
  const e2e = await benchEndToEnd(await openDatabase({ dataDir: pgliteDir }));
  results.push(e2e);
  console.log(
    `end to end, PGlite:    ${rate(e2e.readingsPerSecond)} (${e2e.readings.toLocaleString('en-US')} readings; target ≥ ${rate(TARGETS.pglite)}: ${verdict(e2e.readingsPerSecond, TARGETS.pglite)})`,
  );
} finally {
  rmSync(pgliteDir, { recursive: true, force: true });
}

const postgresUrl = await localPostgres();
if (postgresUrl) {
  process.env.TEST_DATABASE_URL = postgresUrl;
  const target = testDatabaseTargets().find((t) => t.name === 'postgres');
  if (target) {
    const e2e = await benchEndToEnd(await target.open(), 200_000);
    results.push(e2e);
    console.log(
      `end to end, Postgres:  ${rate(e2e.readingsPerSecond)} (${e2e.readings.toLocaleString('en-US')} readings; target ≥ ${rate(TARGETS.postgres)}: ${verdict(e2e.readingsPerSecond, TARGETS.postgres)})`,
    );
  }
} else {
  console.log('end to end, Postgres:  skipped (no PostgreSQL answered; set TEST_DATABASE_URL)');
}

for (const r of results)
  console.log(
    `edge peak RSS:         ${r.edgePeakRssMb.toFixed(1)} MB draining to ${r.database} (${r.edgeStartRssMb.toFixed(1)} MB loaded, before the drain)`,
  );

for (const [beds, rounds] of [
  [4, 50],
  [60, 5],
] as const) {
  const l = await benchAlarmLatency(beds, rounds);
  const ms = (v: number) => `${Math.round(v)} ms`;
  console.log(
    `alarm latency, ${String(beds).padStart(2)} beds: screen p50 ${ms(l.screen.p50)} p99 ${ms(l.screen.p99)} (target ≤ ${TARGETS.alarmScreenP99Ms} ms: ${l.screen.p99 <= TARGETS.alarmScreenP99Ms ? 'meets' : 'ABOVE'}); ` +
      `cloud p50 ${ms(l.cloud.p50)} p99 ${ms(l.cloud.p99)} (target ≤ ${TARGETS.alarmCloudP99Ms} ms: ${l.cloud.p99 <= TARGETS.alarmCloudP99Ms ? 'meets' : 'ABOVE'}); ${l.samples} alarms; start-up burst of ${beds} at once: slowest ${ms(l.burst.screenMax)} to screen, ${ms(l.burst.cloudMax)} to cloud`,
  );
}

// Three minutes: long enough for the SQLite page cache and the V8 heap to reach their plateau.
const footprint = await benchGatewayFootprint(30, 180);
console.log(
  `gateway, ${footprint.beds} beds / ${footprint.devices} devices live: ${Math.round(footprint.readingsPerSecond)} readings/s, ` +
    `${footprint.cpuMsPer1000Readings.toFixed(0)} ms CPU per 1,000 readings, peak RSS ${footprint.peakRssMb.toFixed(1)} MB (target ≤ 120 MB: ${footprint.peakRssMb <= 120 ? 'meets' : 'ABOVE'})`,
);
// One hour of that ward's readings waiting in the outbox, drained to the cloud (PGlite).
const hourOfReadings = Math.round(footprint.readingsPerSecond * 3600);
const drainDir = mkdtempSync(join(tmpdir(), 'wardgate-bench-drain-'));
try {
  const drain = await benchEndToEnd(await openDatabase({ dataDir: drainDir }), hourOfReadings);
  const times = drain.readingsPerSecond / footprint.readingsPerSecond;
  console.log(
    `backlog drain after a 1-hour outage (${hourOfReadings.toLocaleString('en-US')} readings): ${rate(drain.readingsPerSecond)} = ${times.toFixed(0)}× the live rate (target ≥ 20×: ${times >= 20 ? 'meets' : 'BELOW'})`,
  );
} finally {
  rmSync(drainDir, { recursive: true, force: true });
}

// Charted Observations: creates through the API, then searched among 1,000,000 stored (bulk
// loaded as the store writes them). FHIR_OBSERVATIONS=N stores N instead.
const stored = Number(process.env.FHIR_OBSERVATIONS ?? 1_000_000);
const fhirPgliteDir = mkdtempSync(join(tmpdir(), 'wardgate-bench-fhir-'));
const fhirTargets = [
  {
    name: 'PGlite',
    creates: 5_000,
    open: () => openDatabase({ dataDir: fhirPgliteDir }),
  },
  ...(postgresUrl
    ? [
        {
          name: 'Postgres',
          creates: 20_000,
          open: () => {
            const target = testDatabaseTargets().find((t) => t.name === 'postgres');
            if (!target) throw new Error('TEST_DATABASE_URL is not set');
            return target.open();
          },
        },
      ]
    : []),
];
for (const { name, creates, open } of fhirTargets) {
  const database = await open();
  try {
    const f = await benchObservationSearch(database, { creates, stored });
    console.log(
      `FHIR store, ${name.padEnd(8)} ${Math.round(f.createsPerSecond)} Observation creates/s through the API (${f.creates.toLocaleString('en-US')}, 32 in flight; target ≥ ${TARGETS.fhirCreatesPerSecond} on PostgreSQL: ${verdict(f.createsPerSecond, TARGETS.fhirCreatesPerSecond)}); ` +
        `Observation?patient&code&date=ge among ${f.stored.toLocaleString('en-US')} (bulk load ${Math.round(f.loadSeconds)} s): p50 ${f.searchP50Ms.toFixed(1)} ms p95 ${f.searchP95Ms.toFixed(1)} ms, ${f.meanMatches.toFixed(0)} matches on average (target p95 ≤ ${TARGETS.fhirSearchP95Ms} ms: ${f.searchP95Ms <= TARGETS.fhirSearchP95Ms ? 'meets' : 'ABOVE'})`,
    );
  } finally {
    await database.close();
  }
}
rmSync(fhirPgliteDir, { recursive: true, force: true });

// Security: what authentication + authorization + the audit record add to a FHIR read, and
// how long a sign-in takes with the chosen Argon2id parameters (PGlite, then PostgreSQL).
const securityTargets = [
  { name: 'PGlite', open: () => openDatabase({}) },
  ...(postgresUrl
    ? [
        {
          name: 'Postgres',
          open: () => {
            const target = testDatabaseTargets().find((t) => t.name === 'postgres');
            if (!target) throw new Error('TEST_DATABASE_URL is not set');
            return target.open();
          },
        },
      ]
    : []),
];
for (const { name, open } of securityTargets) {
  const database = await open();
  try {
    const s = await benchSecurityOverhead(database);
    const ms = (v: number) => `${v.toFixed(2)} ms`;
    const added = s.doctor.p50 - s.bare.p50;
    console.log(
      `security, ${name.padEnd(8)} FHIR read p50/p99: bare ${ms(s.bare.p50)}/${ms(s.bare.p99)}, as a doctor ${ms(s.doctor.p50)}/${ms(s.doctor.p99)}, as an API client ${ms(s.client.p50)}/${ms(s.client.p99)} (${s.reads} each); ` +
        `added p50 ${ms(added)} doctor, ${ms(s.client.p50 - s.bare.p50)} client, p99 ${ms(s.doctor.p99 - s.bare.p99)} doctor; with --durable-read-audit p50 ${ms(s.doctorDurable.p50 - s.bare.p50)} added (target ≤ ${TARGETS.securityAddedP50Ms} ms p50: ${added <= TARGETS.securityAddedP50Ms ? 'meets' : 'ABOVE'}); ` +
        `sign-in (Argon2id t=${s.argon2id.opslimit}, ${s.argon2id.memlimitMb} MiB, then TOTP) p50 ${ms(s.login.p50)} p99 ${ms(s.login.p99)}`,
    );
  } finally {
    await database.close();
  }
}

// Backups: an encrypted backup of a seeded database, its restore, and its verification by a
// scratch restore (PGlite; PostgreSQL with a scratch database when one answers).
const backupReadings = 500_000;
for (const target of testDatabaseTargets()) {
  const figures = await benchBackup(
    () => target.open(),
    backupReadings,
    target.name === 'postgres' ? postgresUrl : undefined,
  );
  console.log(describeBackupFigures(figures));
}
