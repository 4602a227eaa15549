import { type SQL, sql } from 'drizzle-orm';
import type { Db } from '../db/database.ts';
import { affectedRows, rowsOf } from '../db/results.ts';
import { indexRows } from '../fhir/search/extract.ts';
import { indexInserts } from '../fhir/search/index-writer.ts';
import type { FhirResource } from '../fhir/store/validate.ts';
import { CONTENT_COLUMNS } from './coverage.ts';
import { type ContentRow, openContents, sealResource } from './fhir-content.ts';
import type { KeyRing } from './key-ring.ts';
import { errorForLog } from './log-redaction.ts';
import { blindIndexRows } from './phi-index.ts';
import { SEALED_TEXT_COLUMNS, type SealedTextColumn } from './sealed-text.ts';

/** What one pass over the PHI columns did. */
export interface RotationPass {
  /** Values that were in clear, now sealed (a current FHIR resource also re-indexed). */
  sealed: number;
  /** Values sealed with an older key version, re-sealed with the current one. */
  resealed: number;
  /** Values changed by a writer meanwhile (sealed with the current key by it): left alone. */
  skipped: number;
}

const DEFAULT_BATCH = 100;
const INDEX_TABLES = [
  'fhir_idx_token',
  'fhir_idx_string',
  'fhir_idx_date',
  'fhir_idx_reference',
  'fhir_idx_quantity',
  'fhir_idx_number',
  'fhir_idx_uri',
];

/**
 * One pass over every PHI column: each value in clear (an install from before encryption) is
 * sealed, each value sealed with another key version than the current one is re-sealed. Small
 * transactions of `batchSize` rows, each row locked only for its batch (rows a writer holds are
 * skipped, and the writer seals them anyway); reads go on meanwhile, since every version stays in
 * the ring. Resumable: a pass only ever picks rows not yet sealed with the current key.
 */
export async function reencryptPass(
  db: Db,
  ring: KeyRing,
  options: { batchSize?: number; stopped?: () => boolean } = {},
): Promise<RotationPass> {
  const batchSize = options.batchSize ?? DEFAULT_BATCH;
  const total: RotationPass = { sealed: 0, resealed: 0, skipped: 0 };
  const add = (pass: RotationPass) => {
    total.sealed += pass.sealed;
    total.resealed += pass.resealed;
    total.skipped += pass.skipped;
  };
  for (const table of CONTENT_COLUMNS) {
    let cursor: ContentRow | undefined;
    while (!options.stopped?.()) {
      const batch = await contentBatch(db, ring, table, cursor, batchSize);
      add(batch);
      cursor = batch.last;
      if (batch.rows < batchSize) break;
    }
  }
  for (const column of SEALED_TEXT_COLUMNS) {
    let cursor: string | undefined;
    while (!options.stopped?.()) {
      const batch = await textBatch(db, ring, column, cursor, batchSize);
      add(batch);
      cursor = batch.last;
      if (batch.rows < batchSize) break;
    }
  }
  return total;
}

const notCurrent = (ring: KeyRing, value: SQL) =>
  sql`${value} not like ${`wg1.${ring.currentVersion}.%`}`;

async function contentBatch(
  db: Db,
  ring: KeyRing,
  table: (typeof CONTENT_COLUMNS)[number],
  after: ContentRow | undefined,
  batchSize: number,
): Promise<RotationPass & { rows: number; last: ContentRow | undefined }> {
  const history = table === 'fhir_history';
  const t = sql.raw(table);
  return db.transaction(async (tx) => {
    const txDb = tx as unknown as Db;
    const cursor = !after
      ? sql`true`
      : history
        ? sql`(resource_type, id, version_id) > (${after.resourceType}, ${after.id}, ${after.versionId})`
        : sql`(resource_type, id) > (${after.resourceType}, ${after.id})`;
    const result = await txDb.execute(sql`
      select resource_type as "resourceType", id, version_id as "versionId", content from ${t}
      where ${cursor} and (jsonb_typeof(content) = 'object'
        or (jsonb_typeof(content) = 'string' and ${notCurrent(ring, sql`(content #>> '{}')`)}))
      order by resource_type, id${history ? sql`, version_id` : sql``}
      limit ${batchSize} for update skip locked`);
    const rows = rowsOf<ContentRow>(result);
    const resources = await openContents(ring, rows);
    const pass: RotationPass = { sealed: 0, resealed: 0, skipped: 0 };
    for (const [i, row] of rows.entries()) {
      const resource = resources[i] as FhirResource;
      const wasClear = typeof row.content === 'object';
      const sealed = sealResource(ring, row.resourceType, row.id, row.versionId, resource);
      const updated = await txDb.execute(sql`
        update ${t} set content = ${JSON.stringify(sealed)}::jsonb
        where resource_type = ${row.resourceType} and id = ${row.id}
          and version_id = ${row.versionId} and content = ${JSON.stringify(row.content)}::jsonb`);
      if (affectedRows(updated) === 0) {
        pass.skipped++;
        continue;
      }
      if (wasClear && !history) await reindex(txDb, ring, row, resource);
      if (wasClear) pass.sealed++;
      else pass.resealed++;
    }
    return { ...pass, rows: rows.length, last: rows.at(-1) ?? after };
  });
}

/**
 * A current resource from before encryption gets its search index rows again, with blind
 * indexes for the values that identify a person (and the index rows added since it was written).
 */
async function reindex(db: Db, ring: KeyRing, row: ContentRow, resource: FhirResource) {
  const rows = blindIndexRows(ring, row.resourceType, indexRows(resource));
  for (const table of INDEX_TABLES)
    await db.execute(
      sql`delete from ${sql.raw(table)} where resource_type = ${row.resourceType} and id = ${row.id}`,
    );
  for (const insert of indexInserts(row.resourceType, [{ id: row.id, rows }]))
    await db.execute(insert);
  await db.execute(sql`
    update fhir_resources set search_tokens = fhir_search_tokens(${JSON.stringify(rows)}::jsonb)
    where resource_type = ${row.resourceType} and id = ${row.id}`);
}

async function textBatch(
  db: Db,
  ring: KeyRing,
  c: SealedTextColumn,
  after: string | undefined,
  batchSize: number,
): Promise<RotationPass & { rows: number; last: string | undefined }> {
  const [t, column, key] = [sql.raw(c.table), sql.raw(c.column), sql.raw(c.key)];
  return db.transaction(async (tx) => {
    const txDb = tx as unknown as Db;
    const cursor = after === undefined ? sql`true` : sql`${key} > ${after}::${sql.raw(c.keyType)}`;
    const result = await txDb.execute(sql`
      select ${key}::text as key, ${column} as value from ${t}
      where ${cursor} and ${column} is not null and ${notCurrent(ring, sql`${column}`)}
      order by ${key} limit ${batchSize} for update skip locked`);
    const rows = rowsOf<{ key: string; value: string }>(result);
    const pass: RotationPass = { sealed: 0, resealed: 0, skipped: 0 };
    for (const row of rows) {
      const clear = (await c.open(ring, row.key, row.value)) as string;
      const updated = await txDb.execute(sql`
        update ${t} set ${column} = ${c.seal(ring, row.key, clear)}
        where ${key} = ${row.key}::${sql.raw(c.keyType)} and ${column} = ${row.value}`);
      if (affectedRows(updated) === 0) pass.skipped++;
      else if (clear === row.value) pass.sealed++;
      else pass.resealed++;
    }
    return { ...pass, rows: rows.length, last: rows.at(-1)?.key ?? after };
  });
}

export interface KeyRotationJob {
  /** One pass now (shared with a pass already running). */
  runNow(): Promise<RotationPass>;
  /** Stops after the batch in progress. */
  stop(): Promise<void>;
}

/**
 * The background re-encryption of a running cloud: a pass at start (an install from before
 * encryption gets sealed, a rotation interrupted by a stop is finished), then every
 * `checkEverySeconds` the ring reads its key source again, and when the current version changed
 * (`wardgate-cloud keys rotate`) older values are re-sealed — twice, so that rows another replica
 * sealed before it saw the new key are caught too.
 */
export function startKeyRotation(
  db: Db,
  ring: KeyRing,
  options: { batchSize?: number; checkEverySeconds?: number; log?: (message: string) => void } = {},
): KeyRotationJob {
  const log = options.log ?? (() => {});
  const checkEveryMs = (options.checkEverySeconds ?? 30) * 1000;
  let stopped = false;
  let running: Promise<RotationPass> | undefined;
  let passesDue = 1;
  let timer: NodeJS.Timeout | undefined;
  let ticking: Promise<void> | undefined;

  const runNow = () => {
    running ??= (async () => {
      try {
        const pass = await reencryptPass(db, ring, {
          batchSize: options.batchSize,
          stopped: () => stopped,
        });
        if (pass.sealed + pass.resealed > 0)
          log(
            `phi: ${pass.sealed} value(s) in clear sealed, ${pass.resealed} re-sealed with key version ${ring.currentVersion}`,
          );
        return pass;
      } finally {
        running = undefined;
      }
    })();
    return running;
  };

  const tick = async () => {
    try {
      if (await ring.reload()) {
        log(`phi: key version ${ring.currentVersion} is current; re-sealing older values`);
        passesDue = 2;
      }
      if (passesDue > 0) {
        passesDue--;
        await runNow();
      }
    } catch (error) {
      log(`phi: re-encryption failed, trying again later: ${errorForLog(error)}`);
    }
  };
  const schedule = (delay: number) => {
    timer = setTimeout(() => {
      ticking = tick().finally(() => {
        ticking = undefined;
        if (!stopped) schedule(checkEveryMs);
      });
    }, delay);
  };
  schedule(0);

  return {
    runNow,
    async stop() {
      stopped = true;
      clearTimeout(timer);
      await ticking;
      await running;
    },
  };
}
