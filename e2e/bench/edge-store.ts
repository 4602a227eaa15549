import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReadingWriter } from '@wardgate/edge/src/store/reading-writer.ts';
import { EdgeStore } from '@wardgate/edge/src/store/store.ts';
import type { ReadingInput } from '@wardgate/shared';

/** Readings shaped like a monitor's: nine parameters per message, one message per bed. */
export function monitorReadings(count: number, start = Date.now()): ReadingInput[] {
  const parameters = [
    ['MDC_ECG_HEART_RATE', '/min'],
    ['MDC_PULS_OXIM_SAT_O2', '%'],
    ['MDC_PULS_OXIM_PULS_RATE', '/min'],
    ['MDC_RESP_RATE', '/min'],
    ['MDC_PRESS_BLD_NONINV_SYS', 'mm[Hg]'],
    ['MDC_PRESS_BLD_NONINV_DIA', 'mm[Hg]'],
    ['MDC_PRESS_BLD_NONINV_MEAN', 'mm[Hg]'],
    ['MDC_TEMP_BODY', 'Cel'],
    ['MDC_AWAY_CO2_ET', 'mm[Hg]'],
  ] as const;
  return Array.from({ length: count }, (_, i) => {
    const [parameter, unit] = parameters[i % parameters.length];
    const bed = Math.floor(i / parameters.length) % 30;
    const time = start + Math.floor(i / (parameters.length * 30));
    return {
      deviceId: `bed-${bed + 1}-monitor`,
      bedId: `bed-${bed + 1}`,
      parameter,
      value: 50 + (i % 50),
      unit,
      deviceTime: time,
      gatewayTime: time,
      quality: 'valid',
    };
  });
}

export interface EdgeStoreFigures {
  readings: number;
  readingsPerSecond: number;
  transactions: number;
}

/**
 * Readings/s committed to the edge's SQLite (WAL, synchronous=FULL) through the same batching
 * writer the gateway uses, fed with driver-sized batches (one monitor message = 9 readings).
 */
export function benchEdgeStore(total = 300_000): EdgeStoreFigures {
  const dir = mkdtempSync(join(tmpdir(), 'wardgate-bench-store-'));
  const store = new EdgeStore(join(dir, 'bench.sqlite'));
  const writer = new ReadingWriter(store);
  try {
    const data = monitorReadings(total);
    const started = process.hrtime.bigint();
    for (let i = 0; i < data.length; i += 9) writer.write(data.slice(i, i + 9));
    writer.flush();
    const seconds = Number(process.hrtime.bigint() - started) / 1e9;
    if (store.cursor('readings').lastSeq !== total)
      throw new Error('not every reading was committed');
    return {
      readings: total,
      readingsPerSecond: total / seconds,
      transactions: writer.transactions,
    };
  } finally {
    writer.close();
    store.close();
    rmSync(dir, { recursive: true, force: true });
  }
}
