import type { DeviceKind } from '@wardgate/shared';

/** One simulated bedside device speaking its real wire protocol. */
export interface SimDevice {
  readonly id: string;
  readonly kind: DeviceKind;
  readonly bedId: string;
  start(): Promise<void>;
  /** Closes every socket and timer of the device. */
  stop(): Promise<void>;
  /** Where it listens or sends, for logs and the generated gateway config. */
  address(): Record<string, string | number>;
}
