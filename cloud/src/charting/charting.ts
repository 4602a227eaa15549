import { createHash } from 'node:crypto';
import { and, asc, eq, lte, sql } from 'drizzle-orm';
import { raiseCriticalAlert } from '../alerts/clinical-alerts.ts';
import type { Db } from '../db/database.ts';
import { affectedRows, rowsOf } from '../db/results.ts';
import { bedAssignments, chartCursors, chartPending, readings } from '../db/schema.ts';
import { chartedObservation, type ReadingRow } from '../fhir/observation.ts';
import { ResourceStore } from '../fhir/store/resource-store.ts';
import type { ChartingOptions } from './options.ts';

/** Readings scanned per statement when collecting slots, and slots charted per transaction. */
const SEQ_CHUNK = 50_000;
const SLOTS_PER_BATCH = 200;

export interface ChartRun {
  /** Chart slots that got readings since the last run. */
  slotsFound: number;
  /** Observations written (a slot charted before, e.g. by another replica, is not counted). */
  charted: number;
  /** Clinical alerts raised for critical values. */
  alerts: number;
}

/**
 * One charting run at `now`: first every reading ingested since the last run marks its chart
 * slot (patient, parameter, slot of the parameter's interval) as pending; then each pending slot
 * that ended at least `settleSeconds` ago gets the slot's latest valid reading charted as an
 * Observation. The Observation id is derived from the slot, so charting is idempotent: a slot
 * charted once is never charted again, even when late readings for it arrive or two replicas
 * run at the same time. The patient is the one in the bed when the reading was taken (resolved
 * at ingest), so nothing is charted to the wrong patient after a transfer.
 */
export async function chartOnce(
  db: Db,
  options: ChartingOptions,
  now = Date.now(),
): Promise<ChartRun> {
  const slotsFound = await collectPendingSlots(db, options);
  let charted = 0;
  let alerts = 0;
  const due = now - options.settleSeconds * 1000;
  for (;;) {
    const batch = await chartDueBatch(db, due, now);
    charted += batch.charted;
    alerts += batch.alerts;
    if (batch.slots < SLOTS_PER_BATCH) break;
  }
  return { slotsFound, charted, alerts };
}

/** Marks the slots of newly ingested valid readings as pending; returns how many were new. */
async function collectPendingSlots(db: Db, options: ChartingOptions): Promise<number> {
  const intervalsMs = JSON.stringify(
    Object.fromEntries(Object.entries(options.parameterIntervals).map(([p, s]) => [p, s * 1000])),
  );
  const defaultMs = options.intervalSeconds * 1000;
  const cursors = await db.execute(sql`
    select i.gateway_id as "gatewayId", i.acked_up_to as "ingested",
           coalesce(c.charted_seq, 0) as "charted"
    from ingest_cursors i left join chart_cursors c on c.gateway_id = i.gateway_id
    where i.stream = 'readings' and i.acked_up_to > coalesce(c.charted_seq, 0)`);
  const rows = rowsOf<Record<string, string | number>>(cursors);
  let found = 0;
  for (const row of rows) {
    const gatewayId = String(row.gatewayId);
    const ingested = Number(row.ingested);
    for (let from = Number(row.charted); from < ingested; from += SEQ_CHUNK) {
      const to = Math.min(ingested, from + SEQ_CHUNK);
      found += await db.transaction(async (tx) => {
        const inserted = await tx.execute(sql`
          insert into chart_pending (patient_id, parameter, slot_start, slot_end)
          select distinct r.patient_id, r.parameter,
                 (r.device_time / s.ms) * s.ms, (r.device_time / s.ms) * s.ms + s.ms
          from readings r
          cross join lateral (select coalesce((${intervalsMs}::jsonb ->> r.parameter)::bigint,
                                              ${defaultMs}::bigint) as ms) s
          where r.gateway_id = ${gatewayId} and r.seq > ${from} and r.seq <= ${to}
            and r.patient_id is not null and r.quality = 'valid'
          on conflict do nothing`);
        await tx
          .insert(chartCursors)
          .values({ gatewayId, chartedSeq: to })
          .onConflictDoUpdate({
            target: chartCursors.gatewayId,
            set: { chartedSeq: sql`greatest(${chartCursors.chartedSeq}, ${to}::bigint)` },
          });
        return affectedRows(inserted);
      });
    }
  }
  return found;
}

/** Charts up to SLOTS_PER_BATCH due slots in one transaction (rows locked: replicas skip them). */
async function chartDueBatch(db: Db, due: number, now: number) {
  return db.transaction(async (tx) => {
    const t = tx as unknown as Db;
    const slots = await t
      .select()
      .from(chartPending)
      .where(lte(chartPending.slotEnd, due))
      .orderBy(asc(chartPending.slotEnd))
      .limit(SLOTS_PER_BATCH)
      .for('update', { skipLocked: true });
    const store = new ResourceStore(t);
    let charted = 0;
    let alerts = 0;
    for (const slot of slots) {
      const [reading] = await t
        .select()
        .from(readings)
        .where(
          and(
            eq(readings.patientId, slot.patientId),
            eq(readings.parameter, slot.parameter),
            sql`${readings.deviceTime} >= ${slot.slotStart} and ${readings.deviceTime} < ${slot.slotEnd}`,
            eq(readings.quality, 'valid'),
          ),
        )
        .orderBy(sql`${readings.deviceTime} desc, ${readings.gatewayId}, ${readings.seq} desc`)
        .limit(1);
      await t
        .delete(chartPending)
        .where(
          and(
            eq(chartPending.patientId, slot.patientId),
            eq(chartPending.parameter, slot.parameter),
            eq(chartPending.slotStart, slot.slotStart),
          ),
        );
      if (!reading) continue;
      const key = `${slot.patientId}/${slot.parameter}/${new Date(slot.slotStart).toISOString()}`;
      const observation = chartedObservation(reading, {
        id: chartedObservationId(key),
        identifier: key,
        patientId: slot.patientId,
        encounterId: await encounterAt(t, reading),
        issued: now,
      });
      if (!(await store.createIfAbsent(observation))) continue;
      charted++;
      if (await raiseCriticalAlert(t, observation, reading, now)) alerts++;
    }
    return { slots: slots.length, charted, alerts };
  });
}

/** A FHIR id from the slot key: 64 characters at most whatever the patient id's length. */
export function chartedObservationId(slotKey: string): string {
  return `chart-${createHash('sha256').update(slotKey).digest('hex').slice(0, 40)}`;
}

/** The Encounter of the stay the reading's bed assignment belonged to, if ADT recorded one. */
async function encounterAt(db: Db, reading: ReadingRow): Promise<string | null> {
  const [row] = await db
    .select({ encounterId: bedAssignments.encounterId })
    .from(bedAssignments)
    .where(
      and(
        eq(bedAssignments.gatewayId, reading.gatewayId),
        eq(bedAssignments.bedId, reading.bedId),
        eq(bedAssignments.patientId, reading.patientId as string),
        sql`${bedAssignments.fromTime} <= ${reading.deviceTime}`,
        sql`(${bedAssignments.toTime} is null or ${bedAssignments.toTime} > ${reading.deviceTime})`,
      ),
    )
    .limit(1);
  return row?.encounterId ?? null;
}
