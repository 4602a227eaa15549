import { parseArgs } from 'node:util';
import { termFor } from '@wardgate/shared';
import { type LoadedConfig, loadConfig } from '../config/load.ts';
import type { DeviceConfig, EdgeConfig } from '../config/schema.ts';
import { type DriverSink, driversFor } from '../drivers/index.ts';
import { formatTable } from './table.ts';

export const DEVICES_USAGE = `  wardgate-edge devices list --config FILE   the configured devices, their drivers and addresses
  wardgate-edge devices test ID --config FILE [--seconds N] [--watch]
                                             start only that device's driver and print what it sends;
                                             exit 0 on the first readings, 1 if none within N s (default 10)`;

/** Where the gateway reaches the device (or, for HL7 monitors, where the monitor must push to). */
export function deviceAddress(device: DeviceConfig, config: EdgeConfig): string {
  switch (device.driver) {
    case 'hl7-mllp':
      return config.mllp ? `listens ${config.mllp.host}:${config.mllp.port}` : 'no mllp listener';
    case 'modbus-tcp':
      return `${device.host}:${device.port} unit ${device.unitId} ${device.profile}`;
    case 'serial-tcp':
      return `${device.host}:${device.port}`;
    case 'serial':
      return `${device.path} @ ${device.baudRate} baud`;
  }
}

const formatInterval = (ms: number) => (ms % 1000 === 0 ? `${ms / 1000} s` : `${ms} ms`);

export function formatDeviceList(config: EdgeConfig, width?: number): string {
  if (config.devices.length === 0) return 'no devices configured';
  return formatTable(
    ['ID', 'KIND', 'BED', 'DRIVER', 'ADDRESS', 'POLL', 'SILENT AFTER'],
    config.devices.map((d) => [
      d.id,
      d.kind,
      d.bed,
      d.driver,
      deviceAddress(d, config),
      d.driver === 'modbus-tcp' ? formatInterval(d.pollIntervalMs) : 'push',
      `${d.silentAfterSeconds} s`,
    ]),
    width,
  );
}

export interface DeviceTestOptions {
  seconds: number;
  /** Keep printing until `seconds` have passed instead of stopping at the first readings. */
  watch: boolean;
  out?: NodeJS.WriteStream;
}

/**
 * Starts only the named device's driver (for an HL7 monitor: the MLLP listener serving just that
 * device) with a sink that prints what arrives. Resolves with the exit code: 0 when readings
 * arrived, 1 when none did in time.
 */
export async function testDevice(
  loaded: LoadedConfig,
  deviceId: string,
  options: DeviceTestOptions,
): Promise<number> {
  const out = options.out ?? process.stdout;
  const { config } = loaded;
  const device = config.devices.find((d) => d.id === deviceId);
  if (!device)
    throw new Error(
      `no device "${deviceId}" in ${loaded.file} (configured: ${config.devices.map((d) => d.id).join(', ') || 'none'})`,
    );
  const [driver] = driversFor({ ...config, devices: [device] }, loaded.profiles);
  const where = `${device.driver} ${deviceAddress(device, config)}`;
  const progress = out.isTTY === true;
  const startedAt = Date.now();
  let readings = 0;
  let lastError: string | null = null;
  let finish: () => void = () => {};
  const finished = new Promise<void>((resolve) => {
    finish = resolve;
  });

  // The progress line is redrawn in place; anything printed clears it first.
  const print = (line: string) => out.write(`${progress ? '\r\x1b[2K' : ''}${line}\n`);
  const sink: DriverSink = {
    readings(batch) {
      for (const r of batch) {
        const display = termFor(r.parameter)?.display ?? r.parameter;
        print(
          `${display.padEnd(10)} ${String(r.value).padStart(8)} ${r.unit.padEnd(8)} ` +
            `${new Date(r.deviceTime).toISOString()}  (${r.parameter})`,
        );
      }
      readings += batch.length;
      if (!options.watch && readings > 0) finish();
      return Promise.resolve(true);
    },
    deviceAlarm(signal) {
      print(
        `device alarm ${signal.active ? 'raised' : 'ended'}: ${signal.condition} (${signal.priority})${signal.message ? ` ${signal.message}` : ''}`,
      );
    },
    status(_id, state, error) {
      if (error) lastError = error;
      print(`status: ${state}${error ? ` (${error})` : ''}`);
    },
    frameError(_id, error) {
      lastError = error.message;
      print(`frame error: ${error.message}`);
    },
  };

  const deadline = setTimeout(finish, options.seconds * 1000);
  const ticker = progress
    ? setInterval(() => {
        const waited = Math.round((Date.now() - startedAt) / 1000);
        out.write(`\r\x1b[2Kwaiting for ${device.id} (${where})… ${waited} s`);
      }, 1000)
    : null;
  if (!progress) print(`testing ${device.id} (${where}) for up to ${options.seconds} s`);
  try {
    await driver.start(sink);
    if (driver.type === 'hl7-mllp' && 'address' in driver) {
      const bound = (driver as { address(): { host: string; port: number } }).address();
      print(`listening for HL7 from ${device.id} on ${bound.host}:${bound.port}`);
    }
    await finished;
  } finally {
    clearTimeout(deadline);
    if (ticker) clearInterval(ticker);
    if (progress) out.write('\r\x1b[2K');
    await driver.stop();
  }
  if (readings > 0) {
    print(`ok: ${readings} reading${readings === 1 ? '' : 's'} from ${device.id}`);
    return 0;
  }
  lastError ??= driver.stats().find((s) => s.deviceId === device.id)?.lastError ?? null;
  console.error(
    `no reading from ${device.id} in ${options.seconds} s: ${lastError ? `last error: ${lastError}` : 'no error reported (is the device sending?)'}`,
  );
  return 1;
}

/** `wardgate-edge devices list|test …`; resolves with the exit code. */
export async function devicesCommand(argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      seconds: { type: 'string' },
      watch: { type: 'boolean' },
    },
  });
  const [, sub, deviceId] = positionals;
  const usage = (message: string) => {
    console.error(`wardgate-edge devices: ${message}\n\nusage:\n${DEVICES_USAGE}`);
    return 2;
  };
  if (sub !== 'list' && sub !== 'test') return usage('expected "list" or "test"');
  if (!values.config) return usage('--config FILE is required');
  const loaded = loadConfig(values.config);
  if (sub === 'list') {
    console.log(formatDeviceList(loaded.config));
    return 0;
  }
  if (!deviceId) return usage('devices test needs a device id');
  const seconds = values.seconds === undefined ? 10 : Number(values.seconds);
  if (!Number.isFinite(seconds) || seconds <= 0 || seconds > 3600)
    return usage(`--seconds must be a number of seconds (1 to 3600), got "${values.seconds}"`);
  return testDevice(loaded, deviceId, { seconds, watch: values.watch === true });
}
