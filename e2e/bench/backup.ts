// Backup and restore throughput of a seeded cloud database: rows/s and MB/s for createBackup,
// restoreBackup into a fresh database, and verifyBackup (scratch restore + compare).
// Standalone: node --import tsx e2e/bench/backup.ts [readings] — PGlite, and PostgreSQL when
// TEST_DATABASE_URL is set.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { createBackup, restoreBackup, verifyBackup } from '@wardgate/cloud/src/backup/index.ts';
import type { Database, Db } from '@wardgate/cloud/src/db/database.ts';
import { testDatabaseTargets } from '@wardgate/cloud/test/support/test-database.ts';
import { sql } from 'drizzle-orm';

export interface BackupFigures {
  database: string;
  rows: number;
  /** The rows as text, before compression. */
  dataMb: number;
  fileMb: number;
  backupSeconds: number;
  restoreSeconds: number;
  verifySeconds: number;
}

/**
 * A ward's worth of data, written in bulk: `readings` device readings (30 beds, a reading every
 * few seconds), one charted Observation (about 1 kB of FHIR JSON, current row and history row)
 * per 20 readings, and one audit record per 10.
 */
async function seed(db: Db, readings: number): Promise<void> {
  await db.execute(sql`
    insert into readings
    select 'gw-bench', i, 'dev-' || (i % 120), 'bed-' || (i % 30), 'MDC_PULS_RATE', 60 + (i % 40) * 0.25,
           '/min', 1767000000000 + i * 1000, 1767000000000 + i * 1000 + 5, 'valid',
           'p-' || (i % 30), 1767000000000 + i * 1000 + 9
    from generate_series(1, ${readings}) i`);
  const observations = Math.floor(readings / 20);
  const content = sql`jsonb_build_object(
      'resourceType', 'Observation', 'id', 'obs-' || i, 'status', 'preliminary',
      'meta', jsonb_build_object('versionId', '1', 'lastUpdated', '2026-01-02T03:04:05.000Z'),
      'category', jsonb_build_array(jsonb_build_object('coding', jsonb_build_array(jsonb_build_object(
        'system', 'http://terminology.hl7.org/CodeSystem/observation-category', 'code', 'vital-signs')))),
      'code', jsonb_build_object('coding', jsonb_build_array(jsonb_build_object(
        'system', 'urn:iso:std:iso:11073:10101', 'code', '149530', 'display', 'MDC_PULS_RATE'),
        jsonb_build_object('system', 'http://loinc.org', 'code', '8867-4', 'display', 'Heart rate'))),
      'subject', jsonb_build_object('reference', 'Patient/p-' || (i % 30)),
      'effectivePeriod', jsonb_build_object('start', '2026-01-02T03:00:00Z', 'end', '2026-01-02T03:15:00Z'),
      'valueQuantity', jsonb_build_object('value', 60 + (i % 40), 'unit', '/min',
        'system', 'http://unitsofmeasure.org', 'code', '/min'),
      'device', jsonb_build_object('reference', 'Device/dev-' || (i % 120)),
      'note', jsonb_build_array(jsonb_build_object('text', repeat('x', 200))))`;
  await db.execute(sql`
    insert into fhir_resources (resource_type, id, version_id, last_updated, deleted, content, search_tokens)
    select 'Observation', 'obs-' || i, 1, 1767000000000 + i, false, ${content},
           array[i, i * 7, i * 13]::bigint[]
    from generate_series(1, ${observations}) i`);
  await db.execute(sql`
    insert into fhir_history (resource_type, id, version_id, last_updated, deleted, method, content)
    select resource_type, id, version_id, last_updated, deleted, 'create', content from fhir_resources`);
  await db.execute(sql`
    insert into audit_log (seq, recorded_at, actor_id, actor_role, action, outcome, patient_ids, event, prev_hash, hash)
    select i, 1767000000000 + i, 'u-' || (i % 50), 'nurse', 'read', 'success', array['p-' || (i % 30)],
           jsonb_build_object('resourceType', 'AuditEvent', 'type', jsonb_build_object('code', 'rest'),
             'entity', jsonb_build_array(jsonb_build_object('what', jsonb_build_object('reference', 'Observation/obs-' || i)))),
           md5(i::text) || md5((i + 1)::text), md5(i::text) || md5((i + 2)::text)
    from generate_series(1, ${Math.floor(readings / 10)}) i`);
}

const seconds = (start: bigint) => Number(process.hrtime.bigint() - start) / 1e9;

export async function benchBackup(
  open: () => Promise<Database>,
  readings: number,
  scratchPostgresUrl?: string,
): Promise<BackupFigures> {
  const dir = mkdtempSync(join(tmpdir(), 'wardgate-bench-backup-'));
  const key = new Uint8Array(randomBytes(32));
  const source = await open();
  try {
    await seed(source.db, readings);
    let started = process.hrtime.bigint();
    const backup = await createBackup(source.db, { dir, key });
    const backupSeconds = seconds(started);
    const target = await open();
    let restoreSeconds: number;
    try {
      started = process.hrtime.bigint();
      await restoreBackup(backup.file, key, target.db);
      restoreSeconds = seconds(started);
    } finally {
      await target.close();
    }
    started = process.hrtime.bigint();
    await verifyBackup(backup.file, key, { scratchPostgresUrl });
    const verifySeconds = seconds(started);
    return {
      database: source.describe.startsWith('pglite') ? 'PGlite' : 'PostgreSQL',
      rows: backup.rows,
      dataMb: backup.plainBytes / 1_048_576,
      fileMb: backup.bytes / 1_048_576,
      backupSeconds,
      restoreSeconds,
      verifySeconds,
    };
  } finally {
    await source.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function describeBackupFigures(f: BackupFigures): string {
  const rate = (s: number) =>
    `${Math.round(f.rows / s).toLocaleString('en-US')} rows/s, ${(f.dataMb / s).toFixed(1)} MB/s of data`;
  return [
    `backup, ${f.database}: ${f.rows.toLocaleString('en-US')} rows, ${f.dataMb.toFixed(1)} MB of data, file ${f.fileMb.toFixed(1)} MB`,
    `  create  ${f.backupSeconds.toFixed(1)} s (${rate(f.backupSeconds)})`,
    `  restore ${f.restoreSeconds.toFixed(1)} s (${rate(f.restoreSeconds)})`,
    `  verify  ${f.verifySeconds.toFixed(1)} s (${rate(f.verifySeconds)}; scratch restore + read-back)`,
  ].join('\n');
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const readings = Number(process.argv[2] ?? 500_000);
  for (const target of testDatabaseTargets()) {
    const figures = await benchBackup(
      () => target.open(),
      readings,
      target.name === 'postgres' ? process.env.TEST_DATABASE_URL : undefined,
    );
    console.log(describeBackupFigures(figures));
  }
}
