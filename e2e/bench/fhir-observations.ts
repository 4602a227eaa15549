import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import { contentAd, keyRingOf } from '@wardgate/cloud/src/crypto/index.ts';
import type { Database, Db } from '@wardgate/cloud/src/db/database.ts';
import type { IndexRows } from '@wardgate/cloud/src/fhir/search/extract.ts';
import { indexInserts } from '@wardgate/cloud/src/fhir/search/index-writer.ts';
import { fhirAppAs } from '@wardgate/cloud/test/support/access.ts';
import { sql } from 'drizzle-orm';
import { Hono } from 'hono';
import {
  benchObservation,
  FIRST_SLOT,
  observationSlot,
  PARAMETERS,
  PATIENTS,
  SLOT_MS,
} from './observation-fixture.ts';
import { percentile } from './percentile.ts';

export interface ObservationFigures {
  database: string;
  creates: number;
  createsPerSecond: number;
  stored: number;
  loadSeconds: number;
  searches: number;
  searchP50Ms: number;
  searchP95Ms: number;
  meanMatches: number;
}

const BASE = 'http://bench/fhir/R4';
const IN_FLIGHT = 32;
const CHUNK = 2000;
const WRITERS = 2;

/**
 * Charted Observations in the FHIR store. First `creates` of them through the API (in-process
 * HTTP handler: validation, indexing, group commit; 32 clients in flight) for creates/s; then the
 * store is filled up to `stored` by a bulk load that writes what the store writes (current row,
 * search tokens, history row, the index rows from the server's own indexer, built in worker
 * threads); then `Observation?patient=&code=&date=ge…` searches, p50/p95 (1,000 patients, four
 * vital signs every 15 minutes: ~125 matches each, a page of 50).
 */
export async function benchObservationSearch(
  database: Database,
  options: { creates: number; stored: number; searches?: number },
): Promise<ObservationFigures> {
  // As an API client allowed everything: authorization and the audit trail are in the figures.
  const app = new Hono().route('/fhir/R4', fhirAppAs(database.db));
  const { creates, stored } = options;

  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      for (let i = next++; i < creates; i = next++) {
        const res = await app.request(`${BASE}/Observation`, {
          method: 'POST',
          headers: { 'content-type': 'application/fhir+json' },
          body: JSON.stringify(benchObservation(i)),
        });
        if (res.status !== 201) throw new Error(`create ${i}: ${res.status} ${await res.text()}`);
      }
    }),
  );
  const createSeconds = Number(process.hrtime.bigint() - started) / 1e9;

  const loadStarted = process.hrtime.bigint();
  // A database kept from an earlier run (FHIR_BENCH_DATABASE_URL) is only topped up.
  const counted = await database.db.execute(
    sql`select count(*)::int as n from fhir_resources where resource_type = 'Observation'`,
  );
  const have = Number((counted as unknown as { rows: { n: number }[] }).rows[0].n);
  await bulkLoad(database.db, Math.max(creates, have), stored);
  // As autovacuum would soon after a bulk load: planner statistics, the visibility map.
  await database.db.execute(sql`vacuum analyze`);
  const loadSeconds = Number(process.hrtime.bigint() - loadStarted) / 1e9;

  const latencies: number[] = [];
  const searches = options.searches ?? 300;
  const rounds = Math.floor(stored / PATIENTS / PARAMETERS.length);
  let matches = 0;
  for (let s = 0; s < searches; s++) {
    const { patientId, parameter } = observationSlot((s * 7919) % stored);
    const from = new Date(FIRST_SLOT + ((s * 37) % rounds) * SLOT_MS).toISOString();
    const query = `patient=${patientId}&code=${encodeURIComponent(`http://loinc.org|${parameter.loinc}`)}&date=ge${encodeURIComponent(from)}&_count=50`;
    const t0 = process.hrtime.bigint();
    const res = await app.request(`${BASE}/Observation?${query}`);
    const body = (await res.json()) as { total?: number; entry?: unknown[] };
    latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (res.status !== 200) throw new Error(`search ${s}: ${res.status}`);
    matches += body.total ?? 0;
  }
  latencies.sort((a, b) => a - b);
  return {
    database: database.describe,
    creates,
    createsPerSecond: creates / createSeconds,
    stored,
    loadSeconds,
    searches,
    searchP50Ms: percentile(latencies, 0.5),
    searchP95Ms: percentile(latencies, 0.95),
    meanMatches: matches / searches,
  };
}

interface Entry {
  id: string;
  content: string;
  rows: IndexRows;
}

/** Observations from..to written in chunks, built by one worker per CPU. */
async function bulkLoad(db: Db, from: number, to: number): Promise<void> {
  const workers = Array.from(
    { length: Math.max(1, availableParallelism()) },
    () => new Worker(new URL('./observation-rows-worker.mjs', import.meta.url)),
  );
  const build = (worker: Worker, start: number, end: number) =>
    new Promise<Entry[]>((resolve, reject) => {
      worker.once('message', (entries: Entry[]) => {
        worker.off('error', reject);
        resolve(entries);
      });
      worker.once('error', reject);
      worker.postMessage({ from: start, to: end, lastUpdated: Date.now() });
    });
  try {
    const chunks: [number, number][] = [];
    for (let start = from; start < to; start += CHUNK)
      chunks.push([start, Math.min(to, start + CHUNK)]);
    // Each worker builds its next chunk while the database writes earlier ones, on two
    // connections at a time (PostgreSQL then uses both cores).
    let nextChunk = 0;
    const inFlight = new Map<Worker, Promise<Entry[]>>();
    const writes = new Set<Promise<void>>();
    const feed = (worker: Worker) => {
      if (nextChunk < chunks.length) inFlight.set(worker, build(worker, ...chunks[nextChunk++]));
    };
    for (const worker of workers) feed(worker);
    while (inFlight.size > 0) {
      const [worker, entries] = await Promise.race(
        [...inFlight].map(async ([w, p]) => [w, await p] as const),
      );
      inFlight.delete(worker);
      feed(worker);
      const write = writeChunk(db, entries).finally(() => writes.delete(write));
      writes.add(write);
      if (writes.size >= WRITERS) await Promise.race(writes);
    }
    await Promise.all(writes);
  } finally {
    await Promise.all(workers.map((w) => w.terminate()));
  }
}

async function writeChunk(db: Db, entries: Entry[]): Promise<void> {
  const lastUpdated = Date.now();
  // Stored as the store stores it: the resource sealed with the database's PHI key ring.
  const ring = keyRingOf(db);
  const resources = JSON.stringify(
    entries.map((e) => ({
      id: e.id,
      content: JSON.stringify(ring.seal(e.content, contentAd('Observation', e.id, 1))),
      index: e.rows,
    })),
  );
  await db.transaction(async (tx) => {
    await tx.execute(sql`insert into fhir_resources
        (resource_type, id, version_id, last_updated, deleted, content, search_tokens)
      select 'Observation', x.id, 1, ${lastUpdated}, false, x.content::jsonb,
        fhir_search_tokens(x.index)
      from jsonb_to_recordset(${resources}::jsonb) as x(id text, content text, index jsonb)`);
    await tx.execute(sql`insert into fhir_history
        (resource_type, id, version_id, last_updated, deleted, content, method)
      select 'Observation', x.id, 1, ${lastUpdated}, false, x.content::jsonb, 'create'
      from jsonb_to_recordset(${resources}::jsonb) as x(id text, content text)`);
    for (const insert of indexInserts('Observation', entries)) await tx.execute(insert);
  });
}
