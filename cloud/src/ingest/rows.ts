import type { AlarmsEnvelope, ReadingsEnvelope } from '@wardgate/shared';
import { type SQL, sql } from 'drizzle-orm';
import type { PatientResolver } from '../beds/assignments.ts';
import type { Db } from '../db/database.ts';
import { affectedRows } from '../db/results.ts';
import type { alarmEvents, readings } from '../db/schema.ts';

type ReadingRow = typeof readings.$inferInsert;

/** Database rows of an envelope's records, each with the patient in its bed at its time. */
export function readingRows(
  envelope: ReadingsEnvelope,
  patientAt: PatientResolver,
  receivedAt: number,
): ReadingRow[] {
  const gatewayId = envelope.gatewayId;
  return envelope.records.map((r) => ({
    gatewayId,
    seq: r.seq,
    deviceId: r.deviceId,
    bedId: r.bedId,
    parameter: r.parameter,
    value: r.value,
    unit: r.unit,
    deviceTime: r.deviceTime,
    gatewayTime: r.gatewayTime,
    quality: r.quality,
    patientId: patientAt(r.bedId, r.deviceTime),
    receivedAt,
  }));
}

export function alarmRows(
  envelope: AlarmsEnvelope,
  patientAt: PatientResolver,
  receivedAt: number,
): (typeof alarmEvents.$inferInsert)[] {
  const gatewayId = envelope.gatewayId;
  return envelope.records.map((a) => ({
    gatewayId,
    seq: a.seq,
    alarmId: a.alarmId,
    deviceId: a.deviceId,
    bedId: a.bedId,
    source: a.source,
    condition: a.condition,
    parameter: a.parameter ?? null,
    priority: a.priority,
    kind: a.kind,
    transition: a.transition,
    value: a.value ?? null,
    limit: a.limit ?? null,
    actor: a.actor ?? null,
    message: a.message ?? null,
    time: a.time,
    patientId: patientAt(a.bedId, a.time),
    receivedAt,
  }));
}

/**
 * Inserts readings in one statement of twelve array parameters (INSERT … SELECT FROM unnest):
 * the statement does not grow with the row count, and building it costs next to nothing,
 * unlike a VALUES list with a parameter per field. Returns how many rows were new.
 */
export async function insertReadings(db: Pick<Db, 'execute'>, rows: ReadingRow[]): Promise<number> {
  const column = (pick: (row: ReadingRow) => unknown, type: string): SQL =>
    sql`${sql.param(rows.map(pick))}::${sql.raw(type)}[]`;
  const result = await db.execute(sql`
    INSERT INTO readings (gateway_id, seq, device_id, bed_id, parameter, value, unit,
      device_time, gateway_time, quality, patient_id, received_at)
    SELECT * FROM unnest(
      ${column((r) => r.gatewayId, 'text')}, ${column((r) => r.seq, 'bigint')},
      ${column((r) => r.deviceId, 'text')}, ${column((r) => r.bedId, 'text')},
      ${column((r) => r.parameter, 'text')}, ${column((r) => r.value, 'float8')},
      ${column((r) => r.unit, 'text')}, ${column((r) => r.deviceTime, 'bigint')},
      ${column((r) => r.gatewayTime, 'bigint')}, ${column((r) => r.quality, 'text')},
      ${column((r) => r.patientId ?? null, 'text')}, ${column((r) => r.receivedAt, 'bigint')})
    ON CONFLICT (gateway_id, seq) DO NOTHING`);
  return affectedRows(result);
}
