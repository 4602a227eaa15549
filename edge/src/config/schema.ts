import {
  BedAlarmSettings,
  BedId,
  DeviceId,
  type DeviceKind,
  GatewayId,
  LimitProfileName,
} from '@wardgate/shared';
import { z } from 'zod';

const Port = z.number().int().min(0).max(65535);
const Host = z.string().min(1);
const DeviceKindField = z.enum([
  'monitor',
  'ventilator',
  'pump',
  'oximeter',
] satisfies DeviceKind[]);

const DeviceCommon = {
  id: DeviceId,
  kind: DeviceKindField,
  bed: BedId,
  /** Seconds without a message or successful poll before the device counts as silent. */
  silentAfterSeconds: z.number().positive().max(3600).default(10),
};

export const MllpDevice = z.strictObject({ ...DeviceCommon, driver: z.literal('hl7-mllp') });
export const ModbusTcpDevice = z.strictObject({
  ...DeviceCommon,
  driver: z.literal('modbus-tcp'),
  host: Host,
  port: Port.default(502),
  unitId: z.number().int().min(0).max(255).default(1),
  /** A file name in shared/profiles without .json, e.g. sim-ventilator-v1. */
  profile: z.string().min(1),
  pollIntervalMs: z.number().int().min(100).max(3_600_000).default(1000),
  timeoutMs: z.number().int().min(50).max(60_000).default(1000),
});
export const SerialTcpDevice = z.strictObject({
  ...DeviceCommon,
  driver: z.literal('serial-tcp'),
  host: Host,
  port: Port,
});
export const SerialTtyDevice = z.strictObject({
  ...DeviceCommon,
  driver: z.literal('serial'),
  path: z.string().min(1),
  baudRate: z.number().int().positive().default(9600),
});
export const DeviceConfig = z.discriminatedUnion('driver', [
  MllpDevice,
  ModbusTcpDevice,
  SerialTcpDevice,
  SerialTtyDevice,
]);
export type DeviceConfig = z.infer<typeof DeviceConfig>;

export const EdgeConfig = z
  .strictObject({
    gateway: z.strictObject({
      id: GatewayId,
      /** SQLite database and other state; relative paths are relative to the config file. */
      dataDir: z.string().min(1),
    }),
    cloud: z.strictObject({
      mqttUrl: z
        .string()
        .regex(/^(mqtts?|wss?|tcp|ssl):\/\/[^\s]+$/, 'an mqtt://, mqtts://, ws:// or wss:// URL'),
      /** Defaults to the gateway id: the cloud's broker expects it. */
      username: z.string().min(1).optional(),
      password: z.string().min(1),
      /** File holding the gateway's Ed25519 secret key (base64), made by `wardgate-edge keygen`. */
      signingKeyFile: z.string().min(1),
      /**
       * PEM file of the CA that signed the cloud's certificate (`wardgate-cloud ca init` makes
       * ca.crt): mqtts:// then trusts it. Without it, mqtts:// trusts the system's CAs.
       */
      caFile: z.string().min(1).optional(),
      /** Readings per envelope, and how long the sync waits to fill one. */
      batchSize: z.number().int().min(1).max(10_000).default(500),
      batchWindowMs: z.number().int().min(0).max(60_000).default(200),
    }),
    http: z
      .strictObject({ host: Host.default('127.0.0.1'), port: Port.default(4790) })
      .default({ host: '127.0.0.1', port: 4790 }),
    /** The HL7 listener the patient monitors push to (needed when any device uses hl7-mllp). */
    mllp: z.strictObject({ host: Host.default('0.0.0.0'), port: Port.default(4791) }).optional(),
    devices: z.array(DeviceConfig),
    alarms: z
      .strictObject({
        defaultProfile: LimitProfileName.default('adult'),
        /** Audio pause after a nurse silences an alarm; the signal returns if it persists. */
        silenceSeconds: z.number().int().min(10).max(600).default(120),
        /** An unacknowledged high-priority alarm escalates after this long. */
        escalateAfterSeconds: z.number().int().min(10).max(3600).default(60),
        /** The cloud link may be down this long before a technical alarm is raised. */
        cloudUnreachableSeconds: z.number().int().min(10).max(86_400).default(300),
        /** Free disk below this raises the low-disk technical alarm. */
        minFreeDiskMb: z.number().int().min(1).default(200),
        /** WG_COMM_ERROR (malformed frames, protocol errors) clears after this long without one. */
        commErrorClearSeconds: z.number().int().min(1).max(3600).default(30),
        /** A device dropping offline this often within unstableWindowSeconds is flapping. */
        unstableAfterDrops: z.number().int().min(2).max(100).default(3),
        unstableWindowSeconds: z.number().int().min(10).max(86_400).default(300),
        /** Per bed: limit profile and overrides (the cloud's config overrides these). */
        beds: z.record(BedId, BedAlarmSettings).default({}),
      })
      .prefault({}),
    retention: z
      .strictObject({
        /** Readings the cloud has acked are kept on the gateway this long, then pruned. */
        keepAckedReadingsHours: z
          .number()
          .int()
          .min(1)
          .max(24 * 365)
          .default(72),
      })
      .prefault({}),
    /** Who may acknowledge and silence at the nurse screen: badge id, name and PIN. */
    staff: z
      .array(
        z.strictObject({
          badge: z.string().regex(/^[A-Za-z0-9-]{2,32}$/, '2-32 letters, digits or dashes'),
          name: z.string().min(1).max(64),
          pin: z.string().regex(/^\d{4,8}$/, '4 to 8 digits'),
        }),
      )
      .default([]),
  })
  .superRefine((config, ctx) => {
    const seen = new Map<string, number>();
    config.devices.forEach((device, index) => {
      const first = seen.get(device.id);
      if (first !== undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['devices', index, 'id'],
          message: `duplicate device id "${device.id}" (also devices[${first}])`,
        });
      else seen.set(device.id, index);
      if (device.driver === 'hl7-mllp' && !config.mllp)
        ctx.addIssue({
          code: 'custom',
          path: ['devices', index, 'driver'],
          message: 'hl7-mllp devices need an `mllp:` section (the listener the monitors push to)',
        });
    });
  });
export type EdgeConfig = z.infer<typeof EdgeConfig>;
