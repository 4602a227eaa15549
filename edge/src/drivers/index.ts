import type { DeviceProfile } from '@wardgate/shared';
import type { EdgeConfig } from '../config/schema.ts';
import { MllpListenerDriver } from './mllp-listener.ts';
import { ModbusTcpDriver } from './modbus-tcp.ts';
import { SerialLineDriver } from './serial-line.ts';
import type { Driver } from './types.ts';

export type { DeviceAlarmSignal, DeviceStats, Driver, DriverSink } from './types.ts';
export { MllpListenerDriver, ModbusTcpDriver, SerialLineDriver };

/** One driver per polled device, and one MLLP listener for all the monitors that push to it. */
export function driversFor(config: EdgeConfig, profiles: Map<string, DeviceProfile>): Driver[] {
  const drivers: Driver[] = [];
  const mllpDevices = config.devices.filter((d) => d.driver === 'hl7-mllp');
  if (mllpDevices.length > 0 && config.mllp)
    drivers.push(
      new MllpListenerDriver({
        host: config.mllp.host,
        port: config.mllp.port,
        devices: mllpDevices.map((d) => ({
          id: d.id,
          bed: d.bed,
          kind: d.kind,
          silentAfterSeconds: d.silentAfterSeconds,
        })),
      }),
    );
  for (const device of config.devices) {
    const common = { id: device.id, bed: device.bed, kind: device.kind };
    switch (device.driver) {
      case 'hl7-mllp':
        break;
      case 'modbus-tcp':
        drivers.push(
          new ModbusTcpDriver({
            device: common,
            host: device.host,
            port: device.port,
            unitId: device.unitId,
            profile: profiles.get(device.id) as DeviceProfile,
            pollIntervalMs: device.pollIntervalMs,
            timeoutMs: device.timeoutMs,
            silentAfterSeconds: device.silentAfterSeconds,
          }),
        );
        break;
      case 'serial-tcp':
      case 'serial':
        drivers.push(
          new SerialLineDriver({
            device: common,
            transport:
              device.driver === 'serial'
                ? { type: 'tty', path: device.path, baudRate: device.baudRate }
                : { type: 'tcp', host: device.host, port: device.port },
            silentAfterSeconds: device.silentAfterSeconds,
          }),
        );
        break;
    }
  }
  return drivers;
}
