import { createConnection, type Socket } from 'node:net';
import type { ActiveAlarm } from '@wardgate/edge/src/alarms/types.ts';
import type { MllpListenerDriver } from '@wardgate/edge/src/drivers/mllp-listener.ts';
import { buildAlarmOru, frameMllp, MllpDecoder } from '@wardgate/shared';
import { startSplitWard } from '../support/split-ward.ts';
import { percentile } from './percentile.ts';

export interface LatencyFigures {
  beds: number;
  samples: number;
  screen: { p50: number; p99: number; max: number };
  cloud: { p50: number; p99: number; max: number };
  /** The first round, all beds at once just after start-up: the slowest alarm of the burst. */
  burst: { screenMax: number; cloudMax: number };
}

const CONDITION = 'MDC_EVT_ALARM';

function percentiles(values: number[]) {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    p50: percentile(sorted, 0.5),
    p99: percentile(sorted, 0.99),
    max: sorted[sorted.length - 1],
  };
}

/** Follows the gateway's live feed (/api/live, what the nurse screen listens to). */
async function followLive(url: string, onAlarms: (alarms: ActiveAlarm[], at: number) => void) {
  const controller = new AbortController();
  const response = await fetch(`${url}/api/live`, { signal: controller.signal });
  const reader = (response.body as ReadableStream<Uint8Array>).getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  (async () => {
    for (;;) {
      const { done, value } = await reader.read().catch(() => ({ done: true, value: undefined }));
      if (done) return;
      const at = Date.now();
      buffer += decoder.decode(value, { stream: true });
      let end = buffer.indexOf('\n\n');
      while (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = /^event: ?(.*)$/m.exec(block)?.[1];
        const data = block
          .split('\n')
          .filter((l) => l.startsWith('data:'))
          .map((l) => l.slice(5).trimStart())
          .join('\n');
        if (event === 'snapshot')
          onAlarms((JSON.parse(data) as { alarms: ActiveAlarm[] }).alarms, at);
        end = buffer.indexOf('\n\n');
      }
    }
  })();
  return () => controller.abort();
}

/** An MLLP connection that sends one message at a time and waits for its ACK. */
async function mllpClient(port: number) {
  const socket: Socket = createConnection({ host: '127.0.0.1', port });
  await new Promise<void>((resolve, reject) =>
    socket.once('connect', resolve).once('error', reject),
  );
  const decoder = new MllpDecoder();
  let waiting: (() => void) | null = null;
  socket.on('data', (chunk: Buffer) => {
    for (const e of decoder.push(chunk)) if (e.kind === 'frame') waiting?.();
  });
  return {
    send(text: string) {
      return new Promise<void>((resolve) => {
        waiting = resolve;
        socket.write(frameMllp(text));
      });
    },
    close: () => socket.destroy(),
  };
}

/**
 * Alarm latency on a live simulated ward: each bed's monitor reports a device alarm (IHE PCD-04
 * ORU^R40) while the ward's regular traffic flows; measured from just before the message is
 * written to the gateway's socket until (a) the alarm arrives on the live feed the nurse screen
 * listens to and (b) the cloud's ack for the stored transition arrives (the cloud acks after its
 * commit). Device alarms have no condition delay, so none is included. The cloud and the
 * simulated ward run in their own processes, as they would in production. The first round, in
 * which every bed alarms at the same moment right after start-up, is reported apart from the
 * steady-state rounds after it (each bed then alarms again as soon as its previous alarm ended).
 */
export async function benchAlarmLatency(beds: number, rounds: number): Promise<LatencyFigures> {
  const stack = await startSplitWard({ beds });
  const gateway = stack.gateway as NonNullable<typeof stack.gateway>;
  const screen: number[] = [];
  const cloud: number[] = [];
  // Round 0: every bed alarms at the same moment, right after start-up: reported apart.
  const burstScreen: number[] = [];
  const burstCloud: number[] = [];
  try {
    // Measure a ward in its steady state: cloud linked ("while online") and every device talking.
    while (!gateway.sync.connected || gateway.deviceStatuses().some((d) => d.state !== 'online'))
      await new Promise((r) => setTimeout(r, 50));

    const waitingScreen = new Map<string, (at: number, alarmId: string) => void>();
    const waitingGone = new Map<string, () => void>();
    const stopLive = await followLive(stack.gatewayUrl, (alarms, at) => {
      const present = new Set<string>();
      for (const alarm of alarms)
        if (alarm.condition === CONDITION) {
          present.add(alarm.deviceId);
          waitingScreen.get(alarm.deviceId)?.(at, alarm.alarmId);
        }
      for (const [deviceId, done] of waitingGone) if (!present.has(deviceId)) done();
    });

    // The seq each 'raised' transition got in the gateway's store (stored in the same turn the
    // engine raised it, possibly a moment after the live feed showed it).
    const raisedSeq = new Map<string, number>();
    const seqWaiters = new Map<string, (seq: number) => void>();
    let seenSeq = gateway.store.cursor('alarms').lastSeq;
    gateway.store.on('appended', (stream, lastSeq) => {
      if (stream !== 'alarms') return;
      for (const event of gateway.store.pending('alarms', seenSeq, lastSeq - seenSeq)) {
        if (event.transition !== 'raised' || event.condition !== CONDITION) continue;
        raisedSeq.set(event.alarmId, event.seq);
        seqWaiters.get(event.alarmId)?.(event.seq);
      }
      seenSeq = lastSeq;
    });
    const seqOf = (alarmId: string) =>
      raisedSeq.get(alarmId) ?? new Promise<number>((resolve) => seqWaiters.set(alarmId, resolve));
    const ackWaiters: { seq: number; done: (at: number) => void }[] = [];
    gateway.sync.on('acked', (stream, upTo) => {
      if (stream !== 'alarms') return;
      const at = Date.now();
      for (let i = ackWaiters.length - 1; i >= 0; i--)
        if (ackWaiters[i].seq <= upTo) ackWaiters.splice(i, 1)[0].done(at);
    });

    const mllpPort = (
      gateway.drivers.find((d) => d.type === 'hl7-mllp') as MllpListenerDriver
    ).address().port;
    let controlId = 0;
    await Promise.all(
      stack.beds.map(async (bedId) => {
        const deviceId = `${bedId}-monitor`;
        const client = await mllpClient(mllpPort);
        const report = (phase: 'start' | 'end') =>
          buildAlarmOru({
            controlId: `BENCH-${++controlId}`,
            sendingApp: deviceId,
            bedId,
            time: Date.now(),
            alarm: {
              condition: CONDITION,
              priority: 'medium',
              kind: 'physiological',
              phase,
              message: 'bench alarm',
            },
          });
        for (let round = 0; round <= rounds; round++) {
          const onScreen = new Promise<{ at: number; alarmId: string }>((resolve) =>
            waitingScreen.set(deviceId, (at, alarmId) => {
              waitingScreen.delete(deviceId);
              resolve({ at, alarmId });
            }),
          );
          const sentAt = Date.now();
          await client.send(report('start'));
          const shown = await onScreen;
          (round === 0 ? burstScreen : screen).push(shown.at - sentAt);
          const seq = await seqOf(shown.alarmId);
          const ackedAt =
            gateway.store.cursor('alarms').ackedUpTo >= seq
              ? Date.now()
              : await new Promise<number>((done) => ackWaiters.push({ seq, done }));
          (round === 0 ? burstCloud : cloud).push(ackedAt - sentAt);
          const gone = new Promise<void>((resolve) => waitingGone.set(deviceId, resolve));
          await client.send(report('end'));
          await gone;
          waitingGone.delete(deviceId);
        }
        client.close();
      }),
    );
    stopLive();
    return {
      beds,
      samples: screen.length,
      screen: percentiles(screen),
      cloud: percentiles(cloud),
      burst: { screenMax: Math.max(...burstScreen), cloudMax: Math.max(...burstCloud) },
    };
  } finally {
    await stack.stop();
  }
}
