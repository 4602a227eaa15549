import type { DeviceStats } from '../drivers/types.ts';

export type DeviceStatsWithRate = DeviceStats & {
  /** Messages per second over the last window, null until two samples exist. */
  messagesPerSecond: number | null;
};

/**
 * Messages per second per device from the driver's running `messages` counter, over a rolling
 * window of samples taken whenever the biomed page asks (every 2 s while it is open).
 */
export class MessageRates {
  private readonly windowMs: number;
  private readonly samples = new Map<string, { time: number; messages: number }[]>();

  constructor(windowMs = 10_000) {
    this.windowMs = windowMs;
  }

  withRates(devices: readonly DeviceStats[], now = Date.now()): DeviceStatsWithRate[] {
    const seen = new Set<string>();
    const result = devices.map((device) => {
      seen.add(device.deviceId);
      const history = this.samples.get(device.deviceId) ?? [];
      // A counter that went down means the driver restarted: start over.
      const last = history.at(-1);
      if (last && device.messages < last.messages) history.length = 0;
      history.push({ time: now, messages: device.messages });
      // Keep one sample older than the window so the rate always spans the whole window.
      while (history.length > 2 && history[1].time <= now - this.windowMs) history.shift();
      this.samples.set(device.deviceId, history);
      const oldest = history[0];
      const seconds = (now - oldest.time) / 1000;
      const messagesPerSecond =
        history.length >= 2 && seconds > 0
          ? Math.round(((device.messages - oldest.messages) / seconds) * 100) / 100
          : null;
      return { ...device, messagesPerSecond };
    });
    for (const id of this.samples.keys()) if (!seen.has(id)) this.samples.delete(id);
    return result;
  }
}
