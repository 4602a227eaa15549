import type { ActiveAlarm, BedView, LiveWard } from './types.ts';

/** What the nurse screen receives as the `snapshot` event. */
export interface LiveSnapshot {
  gatewayId: string;
  /** Gateway clock when the snapshot was taken: the page measures value ages against it. */
  time: number;
  beds: BedView[];
  alarms: ActiveAlarm[];
  /** Display names of the badges that acknowledged or silenced a shown alarm (never PINs). */
  staffNames: Record<string, string>;
}

export interface LiveTiming {
  /** Minimum gap between two snapshots (10 per second). */
  minIntervalMs: number;
  /** An alarm change is sent within this, even inside the throttle gap. */
  alarmDelayMs: number;
  heartbeatMs: number;
}

export const DEFAULT_LIVE_TIMING: LiveTiming = {
  minIntervalMs: 100,
  alarmDelayMs: 50,
  heartbeatMs: 2000,
};

export function takeSnapshot(ward: LiveWard, now = Date.now()): LiveSnapshot {
  const alarms = ward.alarms.active();
  const names = new Map(ward.staff().map((s) => [s.badge, s.name]));
  const staffNames: Record<string, string> = {};
  for (const alarm of alarms)
    for (const badge of [alarm.acknowledged?.by, alarm.silencedBy]) {
      const name = badge ? names.get(badge) : undefined;
      if (badge && name) staffNames[badge] = name;
    }
  return { gatewayId: ward.gatewayId, time: now, beds: ward.beds(), alarms, staffNames };
}

interface Client {
  snapshotDue: boolean;
  heartbeatDue: boolean;
  wake: (() => void) | null;
}

const encoder = new TextEncoder();

/**
 * Fans the ward's changes out to every open `/api/live` stream. One throttle for all clients and
 * one snapshot built per flush. Each client's stream is pull-based: a slow client is never
 * queued a backlog, it simply gets the latest snapshot when it is ready to read again.
 */
export class LiveHub {
  private readonly ward: LiveWard;
  private readonly timing: LiveTiming;
  private readonly clients = new Set<Client>();
  private latest = '';
  private lastSentAt = 0;
  private flushAt: number | null = null;
  private flushTimer: NodeJS.Timeout | null = null;
  private heartbeat: NodeJS.Timeout | null = null;
  private unsubscribeWard: (() => void) | null = null;
  /** AlarmEngineApi.onChange has no unsubscribe: registered once, ignored while nobody listens. */
  private alarmListenerAdded = false;
  /** Snapshots that could not be built (the ward threw); the stream keeps its last good one. */
  snapshotErrors = 0;
  lastSnapshotError: string | null = null;

  constructor(ward: LiveWard, timing: LiveTiming = DEFAULT_LIVE_TIMING) {
    this.ward = ward;
    this.timing = timing;
  }

  get clientCount(): number {
    return this.clients.size;
  }

  /** A new SSE stream: first a snapshot at once, then changes and heartbeats until cancelled. */
  open(): ReadableStream<Uint8Array> {
    const client: Client = { snapshotDue: false, heartbeatDue: false, wake: null };
    this.attach(client);
    this.latest = this.render() ?? this.latest;
    client.snapshotDue = this.latest !== '';
    let first = true;
    return new ReadableStream<Uint8Array>(
      {
        pull: async (controller) => {
          if (first) {
            first = false;
            // Tells EventSource to retry quickly after a drop.
            controller.enqueue(encoder.encode('retry: 1000\n\n'));
          }
          while (!client.snapshotDue && !client.heartbeatDue && this.clients.has(client))
            await new Promise<void>((resolve) => {
              client.wake = resolve;
            });
          client.wake = null;
          if (!this.clients.has(client)) {
            closeQuietly(controller);
            return;
          }
          let chunk = '';
          if (client.snapshotDue) chunk += `event: snapshot\ndata: ${this.latest}\n\n`;
          if (client.heartbeatDue) chunk += `event: heartbeat\ndata: {"time":${Date.now()}}\n\n`;
          client.snapshotDue = false;
          client.heartbeatDue = false;
          if (chunk) controller.enqueue(encoder.encode(chunk));
        },
        cancel: () => this.detach(client),
      },
      { highWaterMark: 0 },
    );
  }

  /** Ends every stream (gateway shutdown). */
  closeAll(): void {
    for (const client of [...this.clients]) this.detach(client);
  }

  private attach(client: Client): void {
    this.clients.add(client);
    if (this.clients.size > 1) return;
    this.unsubscribeWard = this.ward.onChange(() => this.changed(false));
    if (!this.alarmListenerAdded) {
      this.alarmListenerAdded = true;
      this.ward.alarms.onChange(() => this.changed(true));
    }
    this.heartbeat = setInterval(() => {
      for (const c of this.clients) {
        c.heartbeatDue = true;
        c.wake?.();
      }
    }, this.timing.heartbeatMs);
  }

  private detach(client: Client): void {
    if (!this.clients.delete(client)) return;
    client.wake?.();
    if (this.clients.size > 0) return;
    this.unsubscribeWard?.();
    this.unsubscribeWard = null;
    if (this.heartbeat) clearInterval(this.heartbeat);
    this.heartbeat = null;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushTimer = null;
    this.flushAt = null;
  }

  /** Schedules a flush: at most one per minIntervalMs, but an alarm change within alarmDelayMs. */
  private changed(alarm: boolean): void {
    if (this.clients.size === 0) return;
    const now = Date.now();
    const throttled = Math.max(now, this.lastSentAt + this.timing.minIntervalMs);
    const due = alarm ? Math.min(throttled, now + this.timing.alarmDelayMs) : throttled;
    if (this.flushAt !== null && this.flushAt <= due) return;
    if (this.flushTimer) clearTimeout(this.flushTimer);
    this.flushAt = due;
    // Even a flush due now waits one macrotask so a burst of synchronous changes is sent once.
    this.flushTimer = setTimeout(() => this.flush(), due - now);
  }

  private flush(): void {
    this.flushTimer = null;
    this.flushAt = null;
    const text = this.render();
    if (text === null) return;
    this.latest = text;
    this.lastSentAt = Date.now();
    for (const c of this.clients) {
      c.snapshotDue = true;
      c.wake?.();
    }
  }

  private render(): string | null {
    try {
      return JSON.stringify(takeSnapshot(this.ward));
    } catch (error) {
      this.snapshotErrors++;
      this.lastSnapshotError = error instanceof Error ? error.message : String(error);
      return null;
    }
  }
}

/** Closing a stream the client already cancelled throws; there is nothing left to close then. */
function closeQuietly(controller: ReadableStreamDefaultController<Uint8Array>): void {
  try {
    controller.close();
  } catch {}
}
