import { statfsSync } from 'node:fs';
import type { AlarmPriority } from '@wardgate/shared';
import type { TechnicalCondition } from '../alarms/types.ts';

/** Wardgate technical condition codes (the gateway's own, beside the devices' MDC events). */
export const TECHNICAL = {
  deviceSilent: 'WG_DEVICE_SILENT',
  commError: 'WG_COMM_ERROR',
  deviceUnstable: 'WG_DEVICE_UNSTABLE',
  lowDisk: 'WG_LOW_DISK',
  clockSkew: 'WG_CLOCK_SKEW',
  cloudUnreachable: 'WG_CLOUD_UNREACHABLE',
} as const;

/** A gateway clock more than this off the cloud's raises WG_CLOCK_SKEW. */
export const MAX_CLOCK_SKEW_MS = 5_000;

export interface TechnicalInputs {
  gatewayId: string;
  now: number;
  devices: { deviceId: string; bedId: string; state: string; error: string | null }[];
  /** Time of each device's last frame error. */
  lastFrameErrorAt: ReadonlyMap<string, { time: number; message: string }>;
  /** WG_COMM_ERROR clears after this long without another error. */
  commErrorClearMs: number;
  /** When each device last dropped from online to offline, oldest first. */
  dropsAt: ReadonlyMap<string, readonly number[]>;
  /** This many drops within unstableWindowMs raise WG_DEVICE_UNSTABLE (a flapping device). */
  unstableAfterDrops: number;
  unstableWindowMs: number;
  dataDir: string;
  minFreeDiskMb: number;
  cloudConnected: boolean;
  /** Since when the cloud link is down (start time when it never came up). */
  cloudDownSince: number | null;
  cloudUnreachableSeconds: number;
  clockSkewMs: number | null;
}

/**
 * Evaluates every technical condition the gateway watches and returns them with their current
 * state; the alarm engine turns changes into raised / cleared alarms (it ignores repeats).
 */
export function technicalConditions(
  input: TechnicalInputs,
  which: { devices: boolean; gateway: boolean } = { devices: true, gateway: true },
): TechnicalCondition[] {
  const { now, gatewayId } = input;
  const out: TechnicalCondition[] = [];
  const gatewayWide = (
    condition: string,
    active: boolean,
    priority: AlarmPriority,
    message: string,
  ) =>
    out.push({
      condition,
      deviceId: gatewayId,
      bedId: 'gateway',
      active,
      priority,
      message,
      time: now,
    });

  for (const device of which.devices ? input.devices : []) {
    const silent = device.state !== 'online';
    out.push({
      condition: TECHNICAL.deviceSilent,
      deviceId: device.deviceId,
      bedId: device.bedId,
      active: silent,
      priority: 'medium',
      message: `${device.deviceId} not communicating${device.error ? `: ${device.error}` : ''}`,
      time: now,
    });
    const lastError = input.lastFrameErrorAt.get(device.deviceId);
    out.push({
      condition: TECHNICAL.commError,
      deviceId: device.deviceId,
      bedId: device.bedId,
      active: Boolean(lastError && now - lastError.time < input.commErrorClearMs),
      priority: 'low',
      message: `${device.deviceId} communication errors${lastError ? `: ${lastError.message}` : ''}`,
      time: now,
    });
    // A flapping link would raise and clear WG_DEVICE_SILENT over and over; this one alarm stays
    // up instead, until the link has held for a whole window.
    const drops = (input.dropsAt.get(device.deviceId) ?? []).filter(
      (t) => now - t < input.unstableWindowMs,
    ).length;
    out.push({
      condition: TECHNICAL.deviceUnstable,
      deviceId: device.deviceId,
      bedId: device.bedId,
      active: drops >= input.unstableAfterDrops,
      priority: 'low',
      message: `${device.deviceId} connection unstable: ${drops} drops in ${Math.round(input.unstableWindowMs / 60_000)} min`,
      time: now,
    });
  }

  if (!which.gateway) return out;
  const space = diskSpace(input.dataDir);
  const disk = space && space.freeBytes / 1048576;
  if (disk !== null)
    gatewayWide(
      TECHNICAL.lowDisk,
      disk < input.minFreeDiskMb,
      'medium',
      `gateway disk low: ${Math.round(disk)} MB free (minimum ${input.minFreeDiskMb} MB)`,
    );

  const skew = input.clockSkewMs;
  gatewayWide(
    TECHNICAL.clockSkew,
    skew !== null && Math.abs(skew) > MAX_CLOCK_SKEW_MS,
    'low',
    `gateway clock ${skew === null ? 'unknown' : `${Math.round(skew / 1000)} s off the cloud's`}`,
  );

  const downFor =
    input.cloudConnected || input.cloudDownSince === null ? 0 : now - input.cloudDownSince;
  gatewayWide(
    TECHNICAL.cloudUnreachable,
    downFor > input.cloudUnreachableSeconds * 1000,
    'low',
    `cloud unreachable for ${Math.round(downFor / 60_000)} min: data is kept on the gateway`,
  );
  return out;
}

/** Free (for this user) and total bytes of the file system holding `path`; null if unreadable. */
export function diskSpace(path: string): { freeBytes: number; totalBytes: number } | null {
  try {
    const stats = statfsSync(path);
    return { freeBytes: stats.bavail * stats.bsize, totalBytes: stats.blocks * stats.bsize };
  } catch {
    return null;
  }
}
