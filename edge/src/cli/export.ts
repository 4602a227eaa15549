import { once } from 'node:events';
import { createWriteStream, existsSync } from 'node:fs';
import { join } from 'node:path';
import type { Writable } from 'node:stream';
import { parseArgs } from 'node:util';
import { termFor } from '@wardgate/shared';
import Sqlite from 'better-sqlite3';
import { loadConfig } from '../config/load.ts';
import { STORE_FILE_NAME } from './status.ts';

export const EXPORT_USAGE = `  wardgate-edge export --config FILE --bed BED --from ISO --to ISO [--out FILE] [--parameter MDC…]
                                             CSV of a bed's stored readings with device time in
                                             [from, to); readings the cloud acked may already be
                                             pruned by retention (the cloud keeps them)`;

export const CSV_HEADER = 'device_time_iso,device_id,bed_id,parameter,display,value,unit,quality';

/**
 * Readings are found by arrival (gateway) time, the order seqs follow; the range itself is device
 * time, so the scan is widened by this much for devices whose clock runs off the gateway's.
 */
const CLOCK_SLACK_MS = 60 * 60 * 1000;
const PROGRESS_EVERY = 100_000;

export interface ExportQuery {
  bed: string;
  from: number;
  to: number;
  /** MDC reference ids; empty means all. */
  parameters: readonly string[];
}

interface ReadingRow {
  device_id: string;
  bed_id: string;
  parameter: string;
  value: number;
  unit: string;
  device_time: number;
  quality: string;
}

const csvField = (text: string) => (/[",\n\r]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text);

export function csvLine(r: ReadingRow): string {
  return [
    new Date(r.device_time).toISOString(),
    r.device_id,
    r.bed_id,
    r.parameter,
    termFor(r.parameter)?.display ?? '',
    String(r.value),
    r.unit,
    r.quality,
  ]
    .map(csvField)
    .join(',');
}

/** Smallest seq whose row arrived at or after `time` (gateway time grows with seq). */
function seqArrivedAt(db: Sqlite.Database, time: number, minSeq: number, maxSeq: number): number {
  const rowFrom = db.prepare(
    'SELECT seq, gateway_time AS t FROM readings WHERE seq >= ? ORDER BY seq LIMIT 1',
  );
  let lo = minSeq;
  let hi = maxSeq + 1;
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    const row = rowFrom.get(mid) as { seq: number; t: number };
    if (row.t < time) lo = row.seq + 1;
    else hi = mid;
  }
  return lo;
}

/**
 * Streams the bed's readings in the range as CSV lines to `out`, row by row from a read-only
 * connection (memory stays flat however large the store). Resolves with the row count.
 */
export async function exportReadings(
  storeFile: string,
  query: ExportQuery,
  out: Writable,
  onProgress?: (rows: number) => void,
): Promise<number> {
  const db = new Sqlite(storeFile, { readonly: true, fileMustExist: true });
  try {
    const write = async (text: string) => {
      if (!out.write(text)) await once(out, 'drain');
    };
    await write(`${CSV_HEADER}\n`);
    const bounds = db.prepare('SELECT MIN(seq) AS lo, MAX(seq) AS hi FROM readings').get() as {
      lo: number | null;
      hi: number | null;
    };
    if (bounds.lo === null || bounds.hi === null) return 0;
    const firstSeq = seqArrivedAt(db, query.from - CLOCK_SLACK_MS, bounds.lo, bounds.hi);
    const endSeq = seqArrivedAt(db, query.to + CLOCK_SLACK_MS, bounds.lo, bounds.hi);
    const byParameter =
      query.parameters.length > 0
        ? ` AND parameter IN (${query.parameters.map(() => '?').join(',')})`
        : '';
    const rows = db
      .prepare(
        'SELECT device_id, bed_id, parameter, value, unit, device_time, quality FROM readings ' +
          `WHERE seq >= ? AND seq < ? AND bed_id = ? AND device_time >= ? AND device_time < ?${byParameter} ORDER BY seq`,
      )
      .iterate(firstSeq, endSeq, query.bed, query.from, query.to, ...query.parameters);
    let count = 0;
    for (const row of rows as IterableIterator<ReadingRow>) {
      await write(`${csvLine(row)}\n`);
      count++;
      if (count % PROGRESS_EVERY === 0) onProgress?.(count);
    }
    return count;
  } finally {
    db.close();
  }
}

/** Parses an ISO 8601 date-time; anything else (or a bare number) is refused. */
export function parseIsoTime(text: string, option: string): number {
  const time = /^\d{4}-\d{2}-\d{2}/.test(text) ? Date.parse(text) : Number.NaN;
  if (Number.isNaN(time))
    throw new RangeError(
      `${option} must be an ISO 8601 date or date-time (e.g. 2025-03-01T08:00:00Z), got "${text}"`,
    );
  return time;
}

/** `wardgate-edge export`; resolves with the exit code (2 for bad arguments). */
export async function exportCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      bed: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      out: { type: 'string', short: 'o' },
      parameter: { type: 'string', multiple: true },
    },
  });
  const usage = (message: string) => {
    console.error(`wardgate-edge export: ${message}\n\nusage:\n${EXPORT_USAGE}`);
    return 2;
  };
  for (const required of ['config', 'bed', 'from', 'to'] as const)
    if (!values[required]) return usage(`--${required} is required`);
  let query: ExportQuery;
  try {
    query = {
      bed: values.bed as string,
      from: parseIsoTime(values.from as string, '--from'),
      to: parseIsoTime(values.to as string, '--to'),
      parameters: (values.parameter ?? []).flatMap((p) => p.split(',')).filter(Boolean),
    };
  } catch (error) {
    return usage((error as Error).message);
  }
  if (query.from >= query.to) return usage('--from must be before --to');
  const unknown = query.parameters.filter((p) => !termFor(p));
  if (unknown.length > 0)
    return usage(`unknown parameter ${unknown.join(', ')} (use MDC ids, e.g. MDC_ECG_HEART_RATE)`);

  const loaded = loadConfig(values.config as string);
  const storeFile = join(loaded.dataDir, STORE_FILE_NAME);
  if (!existsSync(storeFile)) throw new Error(`no store at ${storeFile}: nothing to export`);

  const out = values.out ? createWriteStream(values.out) : process.stdout;
  if (values.out) await once(out, 'open');
  const tty = process.stderr.isTTY === true;
  const count = await exportReadings(storeFile, query, out, (rows) => {
    if (tty) process.stderr.write(`\r${rows} rows…`);
  });
  if (out !== process.stdout) await new Promise<void>((resolve) => out.end(resolve));
  process.stderr.write(
    `${tty ? '\r\x1b[2K' : ''}${count} row${count === 1 ? '' : 's'} of ${query.bed} from ` +
      `${new Date(query.from).toISOString()} to ${new Date(query.to).toISOString()}` +
      `${values.out ? ` written to ${values.out}` : ''}\n`,
  );
  return 0;
}
