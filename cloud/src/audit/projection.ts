import { and, asc, desc, eq, gt, like } from 'drizzle-orm';
import type { Db } from '../db/database.ts';
import { auditLog, fhirResources } from '../db/schema.ts';
import { ResourceStore } from '../fhir/store/resource-store.ts';
import type { FhirResource } from '../fhir/store/validate.ts';
import { startRepeatingJob } from '../jobs/repeating-job.ts';

export interface AuditProjectionOptions {
  /** How often new audit rows are copied (default 5 s). */
  runEverySeconds?: number;
  /** Rows read and written per step (default 500). */
  batchSize?: number;
  log?: (message: string) => void;
}

export interface AuditProjectionRun {
  /** AuditEvents newly stored (rows already there are skipped). */
  projected: number;
  /** The highest audit seq now in the FHIR store. */
  through: number;
}

export interface AuditProjection {
  /** Copies every row not yet projected (after a run in progress) and says what it did. */
  runNow(): Promise<AuditProjectionRun>;
  /** Stops the schedule; resolves when a run in progress has finished. */
  stop(): Promise<void>;
}

/** AuditEvents written at once: one group commit of the store (create-batcher's batch). */
const IN_FLIGHT = 16;

const seqOf = (id: string) => Number(id.slice('audit-'.length));

/**
 * Where to resume: a step stores its rows in any order but finishes before the next starts, so
 * the highest seq projected is among the last rows written, and any row not stored by a step that
 * was cut short (a crash) lies less than one step below it. Those are written again; the store
 * skips the ones it has.
 */
async function resumeAfter(db: Db, batchSize: number): Promise<number> {
  const recent = await db
    .select({ id: fhirResources.id })
    .from(fhirResources)
    .where(and(eq(fhirResources.resourceType, 'AuditEvent'), like(fhirResources.id, 'audit-%')))
    .orderBy(desc(fhirResources.lastUpdated))
    .limit(batchSize * 2);
  const highest = Math.max(0, ...recent.map((r) => seqOf(r.id)).filter(Number.isFinite));
  return Math.max(0, highest - batchSize);
}

/**
 * Copies audit_log rows into the FHIR store as AuditEvent `audit-<seq>` (the AuditEvent the
 * row holds, through the store's write path: history, search indexes), so the audit trail can
 * be searched with FHIR search (date, agent, altid, patient, entity, action, outcome, type,
 * subtype, address, ...). The log stays the record of truth: the copy is read-only to the API
 * and can be rebuilt from it. Safe to run in several processes at once (a copy already stored
 * is skipped).
 */
export function startAuditProjection(
  db: Db,
  options: AuditProjectionOptions = {},
): AuditProjection {
  const batchSize = options.batchSize ?? 500;
  const runEveryMs = (options.runEverySeconds ?? 5) * 1000;
  const log = options.log ?? (() => {});
  const store = new ResourceStore(db);
  let cursor: number | undefined;

  const projectAll = async (): Promise<AuditProjectionRun> => {
    cursor ??= await resumeAfter(db, batchSize);
    let projected = 0;
    for (;;) {
      const rows = await db
        .select({ seq: auditLog.seq, event: auditLog.event })
        .from(auditLog)
        .where(gt(auditLog.seq, cursor))
        .orderBy(asc(auditLog.seq))
        .limit(batchSize);
      // A few at a time (one store batch): requests sharing the database wait behind little.
      for (let i = 0; i < rows.length; i += IN_FLIGHT) {
        const written = await Promise.all(
          rows
            .slice(i, i + IN_FLIGHT)
            .map((row) =>
              store.createIfAbsent({ ...(row.event as FhirResource), id: `audit-${row.seq}` }),
            ),
        );
        projected += written.filter((w) => w !== undefined).length;
      }
      if (rows.length > 0) cursor = rows[rows.length - 1].seq;
      if (rows.length < batchSize || job.stopped) break;
    }
    return { projected, through: cursor };
  };

  const job = startRepeatingJob({
    everyMs: runEveryMs,
    initial: { projected: 0, through: 0 },
    run: projectAll,
    report: (result) =>
      result.projected > 0
        ? `audit: ${result.projected} AuditEvent(s) projected, through seq ${result.through}`
        : undefined,
    failure: 'audit: projection failed',
    log,
  });
  return { runNow: job.runNow, stop: job.stop };
}
