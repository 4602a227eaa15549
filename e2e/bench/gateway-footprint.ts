import { readFileSync } from 'node:fs';
import { startSplitWard } from '../support/split-ward.ts';

export interface FootprintFigures {
  beds: number;
  devices: number;
  seconds: number;
  readings: number;
  readingsPerSecond: number;
  cpuMsPer1000Readings: number;
  peakRssMb: number;
}

/** utime + stime of a process in ms, and its peak RSS (VmHWM) in MB, from /proc. */
function processUsage(pid: number): { cpuMs: number; peakRssMb: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const ticks = Number(fields[11]) + Number(fields[12]); // utime, stime (fields 14 and 15)
  const hwm = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { cpuMs: (ticks * 1000) / 100, peakRssMb: Number(hwm?.[1] ?? 0) / 1024 };
}

async function health(url: string) {
  return (await (await fetch(`${url}/health`)).json()) as {
    store: { readingsCommitted: number };
    offlineDevices: string[];
    cloud: { connected: boolean };
  };
}

/**
 * The gateway process alone (cloud and simulated ward in their own processes) running a live
 * ward: readings/s, CPU time per 1,000 readings and peak RSS over `seconds` of steady state.
 * The gateway runs as systemd runs it: the production bundle (built first when missing or older
 * than its sources) with the node flags of systemd/wardgate-edge.service (startSplitWard).
 * CPU ticks are the kernel's 100 Hz clock.
 */
export async function benchGatewayFootprint(
  beds: number,
  seconds: number,
): Promise<FootprintFigures> {
  const ward = await startSplitWard({ beds, gatewayInChild: true });
  try {
    const pid = ward.gatewayProcess?.pid as number;
    for (;;) {
      const h = await health(ward.gatewayUrl).catch(() => null);
      if (h?.cloud.connected && h.offlineDevices.length === 0) break;
      await new Promise((r) => setTimeout(r, 250));
    }
    const before = {
      usage: processUsage(pid),
      readings: (await health(ward.gatewayUrl)).store.readingsCommitted,
      at: Date.now(),
    };
    await new Promise((r) => setTimeout(r, seconds * 1000));
    const after = {
      usage: processUsage(pid),
      readings: (await health(ward.gatewayUrl)).store.readingsCommitted,
      at: Date.now(),
    };
    const readings = after.readings - before.readings;
    const elapsed = (after.at - before.at) / 1000;
    return {
      beds,
      devices: beds * 4,
      seconds: elapsed,
      readings,
      readingsPerSecond: readings / elapsed,
      cpuMsPer1000Readings: ((after.usage.cpuMs - before.usage.cpuMs) / readings) * 1000,
      peakRssMb: after.usage.peakRssMb,
    };
  } finally {
    await ward.stop();
  }
}
