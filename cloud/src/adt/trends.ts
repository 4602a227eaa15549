import { PARAMETERS, type ParameterTerm, termFor } from '@wardgate/shared';
import { sql } from 'drizzle-orm';
import type { Db } from '../db/database.ts';
import { rowsOf } from '../db/results.ts';

export interface TrendQuery {
  patientId: string;
  /** MDC reference id (MDC_ECG_HEART_RATE) or LOINC code (8867-4). */
  parameter: string;
  from: number;
  to: number;
  bucketMs: number;
}

export interface TrendBucket {
  start: string;
  min: number;
  max: number;
  mean: number;
  count: number;
}

/** Buckets a trend may have at most; a wider range needs a larger bucket. */
export const MAX_BUCKETS = 10_000;

/** The parameter a trend asks for, by MDC reference id or LOINC code; undefined if unknown. */
export function trendParameter(code: string): ParameterTerm | undefined {
  return termFor(code) ?? PARAMETERS.find((p) => p.loinc === code);
}

/**
 * A patient's raw device readings of one parameter, as min / max / mean / count per bucket over
 * [from, to), by device time. Buckets are aligned to the epoch, so the same bucket size always
 * cuts at the same instants; empty buckets are left out. Only valid readings count.
 */
export async function trend(db: Db, query: TrendQuery, mdc: string): Promise<TrendBucket[]> {
  const { patientId, from, to, bucketMs } = query;
  const result = await db.execute(sql`
    select floor(device_time / ${bucketMs}::bigint) * ${bucketMs}::bigint as bucket,
           min(value) as min, max(value) as max, avg(value) as mean, count(*) as count
    from readings
    where patient_id = ${patientId} and parameter = ${mdc} and quality = 'valid'
      and device_time >= ${from} and device_time < ${to}
    group by 1 order by 1`);
  // Both drivers return { rows }; bigint and numeric columns may arrive as strings.
  const rows = rowsOf<Record<string, string | number>>(result);
  return rows.map((r) => ({
    start: new Date(Number(r.bucket)).toISOString(),
    min: Number(r.min),
    max: Number(r.max),
    mean: Number(r.mean),
    count: Number(r.count),
  }));
}
