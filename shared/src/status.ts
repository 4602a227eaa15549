import { z } from 'zod';
import { BedAlarmSettings } from './alarm-limits.ts';
import { DeviceStatus, EpochMs } from './records.ts';
import { signCanonical, verifyCanonical } from './signing.ts';
import { GatewayId } from './topics.ts';

/**
 * Retained on `up/status`. The gateway publishes one when it connects and when a device changes
 * state; its MQTT last will is a signed `online: false` snapshot made at connect time.
 */
export const StatusSnapshot = z.object({
  v: z.literal(1),
  gatewayId: GatewayId,
  online: z.boolean(),
  time: EpochMs,
  devices: z.array(DeviceStatus),
  sig: z.string().min(1),
});
export type StatusSnapshot = z.infer<typeof StatusSnapshot>;

export function sealStatus(
  snapshot: Omit<StatusSnapshot, 'sig' | 'v'>,
  secretKey: string,
): StatusSnapshot {
  const unsigned = { v: 1 as const, ...snapshot };
  return { ...unsigned, sig: signCanonical(unsigned, secretKey) };
}

export function verifyStatus(json: unknown, publicKey: string): boolean {
  if (typeof json !== 'object' || json === null) return false;
  const { sig, ...unsigned } = json as Record<string, unknown>;
  return typeof sig === 'string' && verifyCanonical(unsigned, sig, publicKey);
}

/**
 * Retained on `down/config`: which patient lies in which bed (display name only: the edge keeps
 * no patient identifiers), and per-bed alarm limit overrides.
 */
export const BedAssignment = z.object({
  bedId: z.string().min(1),
  displayName: z.string().max(128).nullable(),
  /** Alarm limit profile and per-parameter overrides for this bed's patient. */
  alarms: BedAlarmSettings.optional(),
});
export const GatewayConfigDown = z.object({
  v: z.literal(1),
  updatedAt: EpochMs,
  beds: z.array(BedAssignment),
});
export type GatewayConfigDown = z.infer<typeof GatewayConfigDown>;
