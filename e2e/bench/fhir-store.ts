import type { Database } from '@wardgate/cloud/src/db/database.ts';
import { fhirApp } from '@wardgate/cloud/src/fhir/index.ts';
import { sql } from 'drizzle-orm';
import { Hono } from 'hono';
import { percentile } from './percentile.ts';

export interface FhirStoreFigures {
  database: string;
  creates: number;
  createsPerSecond: number;
  searches: number;
  searchP50Ms: number;
  searchP95Ms: number;
}

const BASE = 'http://bench/fhir/R4';
const IN_FLIGHT = 16;

/**
 * The stored FHIR types through the API (in-process HTTP handler, validation, indexing and the
 * database included): Encounter creates with 16 in flight, then
 * `Encounter?patient=&class=&date=ge…` searches. Each Encounter references one of 1,000 patients.
 */
export async function benchFhirStore(
  database: Database,
  creates: number,
): Promise<FhirStoreFigures> {
  const app = new Hono().route('/fhir/R4', fhirApp(database.db));
  const day = Date.UTC(2025, 0, 1);
  const encounter = (i: number) => ({
    resourceType: 'Encounter',
    status: i % 3 === 0 ? 'finished' : 'in-progress',
    class: {
      system: 'http://terminology.hl7.org/CodeSystem/v3-ActCode',
      code: i % 2 === 0 ? 'IMP' : 'AMB',
    },
    subject: { reference: `Patient/p${i % 1000}` },
    period: { start: new Date(day + i * 60_000).toISOString() },
    identifier: [{ system: 'urn:bench:visit', value: `V${i}` }],
  });

  let next = 0;
  const started = process.hrtime.bigint();
  await Promise.all(
    Array.from({ length: IN_FLIGHT }, async () => {
      for (let i = next++; i < creates; i = next++) {
        const res = await app.request(`${BASE}/Encounter`, {
          method: 'POST',
          headers: { 'content-type': 'application/fhir+json' },
          body: JSON.stringify(encounter(i)),
        });
        if (res.status !== 201) throw new Error(`create ${i}: ${res.status} ${await res.text()}`);
      }
    }),
  );
  const createSeconds = Number(process.hrtime.bigint() - started) / 1e9;
  // As autovacuum would soon after a bulk load: planner statistics for the new rows.
  await database.db.execute(sql`analyze`);

  const latencies: number[] = [];
  const searches = 200;
  for (let i = 0; i < searches; i++) {
    const patient = `p${(i * 7) % 1000}`;
    const from = new Date(day + ((i * 37) % creates) * 60_000).toISOString();
    const t0 = process.hrtime.bigint();
    const res = await app.request(
      `${BASE}/Encounter?patient=${patient}&class=IMP&date=ge${encodeURIComponent(from)}&_count=50`,
    );
    await res.json();
    latencies.push(Number(process.hrtime.bigint() - t0) / 1e6);
    if (res.status !== 200) throw new Error(`search ${i}: ${res.status}`);
  }
  latencies.sort((a, b) => a - b);
  return {
    database: database.describe,
    creates,
    createsPerSecond: creates / createSeconds,
    searches,
    searchP50Ms: percentile(latencies, 0.5),
    searchP95Ms: percentile(latencies, 0.95),
  };
}
