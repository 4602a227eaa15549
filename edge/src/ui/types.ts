import type { DeviceKind, DeviceState } from '@wardgate/shared';
import type { ActiveAlarm, AlarmEngineApi } from '../alarms/types.ts';
import type { DeviceStats } from '../drivers/types.ts';

/**
 * What the gateway's pages need from the running gateway (implemented by runtime/gateway.ts).
 * Kept small so the pages can be tested against a fake ward.
 */
export interface LiveWard {
  readonly gatewayId: string;
  beds(): BedView[];
  readonly alarms: AlarmEngineApi;
  /** Badge, name and PIN of each nurse allowed to acknowledge and silence. */
  staff(): readonly { badge: string; name: string; pin: string }[];
  /** Devices as the biomed page shows them (state, last contact, counters, last error, detail). */
  deviceStats(): DeviceStats[];
  /** Gateway health for the biomed page (disk, memory, cloud link, backlog per stream, clock). */
  health(): GatewayHealth;
  /** Called whenever vitals, device states or the bed list change (throttle on your side). */
  onChange(listener: () => void): () => void;
}

export interface BedView {
  bedId: string;
  /** From the cloud's config: the patient's display name, or null for an empty bed. */
  displayName: string | null;
  devices: { deviceId: string; kind: DeviceKind; state: DeviceState; lastContact: number | null }[];
  /** Latest value per MDC parameter, with its UCUM unit and device time. */
  vitals: Record<string, { value: number; unit: string; time: number }>;
}

export interface GatewayHealth {
  time: number;
  uptimeSeconds: number;
  disk: { path: string; freeBytes: number; totalBytes: number };
  memory: {
    rssBytes: number;
    heapUsedBytes: number;
    systemFreeBytes: number;
    systemTotalBytes: number;
  };
  cloud: {
    connected: boolean;
    lastConnectedAt: number | null;
    lastError: string | null;
    backlog: Record<
      'alarms' | 'readings',
      { lastSeq: number; ackedUpTo: number; ackedAt: number | null }
    >;
  };
  /** Gateway clock vs the cloud's (from the last ack/config round trip), when known. */
  clock: { now: number; skewMs: number | null };
}

export type { ActiveAlarm };
