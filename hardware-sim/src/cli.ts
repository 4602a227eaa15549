import { renameSync, writeFileSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { type DeviceFault, FAULT_KINDS, type FaultyDevice, parseFault } from './faults.ts';
import { SCENARIOS, type Scenario } from './physiology.ts';
import { Ward } from './ward.ts';

const HELP = `wardgate-sim — a simulated ward speaking the real device protocols

Usage: wardgate-sim [options]

  --beds N                 beds to simulate, each with a monitor, ventilator, pump, oximeter (default 4)
  --gateway HOST:PORT      the gateway's HL7/MLLP listener the monitors push to (default 127.0.0.1:4791)
  --host HOST              address the Modbus and serial-server devices listen on (default 127.0.0.1)
  --base-port PORT         first listening port, 3 per bed (default: any free port)
  --scenario BED=NAME      a bed's scenario (repeatable; default stable), one of:
                           ${SCENARIOS.join(' | ')}
  --onset SECONDS          seconds before the scenarios begin to act (default 20)
  --fault DEVICE=FAULT     make a device misbehave from the start (repeatable), FAULT one of:
                           unplugged | half-open | slow:MS | garbage | modbus-exception:CODE |
                           truncated-hl7 | malformed-hl7 | malformed-line | flapping:UP_MS/DOWN_MS
  --pty                    also expose each oximeter on a pty (needs socat)
  --devices-out FILE       write the devices section of a wardgate-edge config (JSON) for this ward
  --seed N                 random seed (default 1)
  -h, --help               this text

While running, a line on standard input switches faults:
  fault DEVICE FAULT       e.g. "fault bed-1-vent unplugged", "fault bed-2-oxi slow:3000"
  clear DEVICE             the device works normally again
`;

function fail(message: string): never {
  process.stderr.write(`wardgate-sim: ${message}\n\n${HELP}`);
  process.exit(2);
}

function parseHostPort(value: string, flag: string) {
  const m = value.match(/^(.+):(\d{1,5})$/);
  if (!m || Number(m[2]) > 65535) fail(`${flag} must be HOST:PORT, got "${value}"`);
  return { host: m[1], port: Number(m[2]) };
}

function positiveInt(value: string | undefined, flag: string, fallback: number) {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) fail(`${flag} must be a whole number, got "${value}"`);
  return n;
}

let args: ReturnType<typeof parse>;
function parse() {
  return parseArgs({
    options: {
      beds: { type: 'string' },
      gateway: { type: 'string' },
      host: { type: 'string' },
      'base-port': { type: 'string' },
      scenario: { type: 'string', multiple: true },
      fault: { type: 'string', multiple: true },
      onset: { type: 'string' },
      pty: { type: 'boolean' },
      'devices-out': { type: 'string' },
      seed: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
  });
}
try {
  args = parse();
} catch (e) {
  fail((e as Error).message);
}
const opts = args.values;
if (opts.help) {
  process.stdout.write(HELP);
  process.exit(0);
}

const beds = positiveInt(opts.beds, '--beds', 4);
if (beds < 1 || beds > 200) fail('--beds must be between 1 and 200');
const scenarios: Record<string, Scenario> = {};
for (const s of opts.scenario ?? []) {
  const [bed, name] = s.split('=');
  if (!bed || !SCENARIOS.includes(name as Scenario))
    fail(`--scenario must be BED=${SCENARIOS.join('|')}, got "${s}"`);
  const index = Number(bed.match(/^bed-(\d+)$/)?.[1] ?? 0);
  if (index < 1 || index > beds)
    fail(`--scenario names ${bed}, but the beds are bed-1…bed-${beds}`);
  scenarios[bed] = name as Scenario;
}

const ward = new Ward({
  beds,
  gateway: parseHostPort(opts.gateway ?? '127.0.0.1:4791', '--gateway'),
  host: opts.host,
  basePort: positiveInt(opts['base-port'], '--base-port', 0),
  scenarios,
  onsetSeconds: positiveInt(opts.onset, '--onset', 20),
  pty: opts.pty,
  seed: positiveInt(opts.seed, '--seed', 1),
});

const faults: [string, DeviceFault][] = [];
for (const f of opts.fault ?? []) {
  const at = f.indexOf('=');
  if (at < 1) fail(`--fault must be DEVICE=FAULT, got "${f}"`);
  try {
    faults.push([f.slice(0, at), parseFault(f.slice(at + 1))]);
  } catch (e) {
    fail(`--fault ${f}: ${(e as Error).message}`);
  }
}

function faultyDevice(id: string): FaultyDevice {
  const device = ward.devices.find((d) => d.id === id);
  if (!device)
    throw new Error(`no device "${id}"; devices are ${ward.devices.map((d) => d.id).join(', ')}`);
  return device as unknown as FaultyDevice;
}

try {
  await ward.start();
  for (const [id, fault] of faults) faultyDevice(id).setFault(fault);
} catch (e) {
  await ward.stop();
  process.stderr.write(`wardgate-sim: could not start the ward: ${(e as Error).message}\n`);
  process.exit(1);
}
for (const device of ward.devices) {
  const where = Object.entries(device.address())
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  process.stdout.write(
    `${device.bedId} ${device.kind.padEnd(10)} ${device.id.padEnd(16)} ${where}\n`,
  );
}
if (opts['devices-out']) {
  // Written whole, then renamed: whoever waits for the file never reads half of it.
  const partial = `${opts['devices-out']}.partial`;
  writeFileSync(partial, `${JSON.stringify(ward.edgeDevices(), null, 2)}\n`);
  renameSync(partial, opts['devices-out']);
  process.stdout.write(`devices section written to ${opts['devices-out']}\n`);
}
for (const [id, fault] of faults) process.stdout.write(`fault: ${id} ${fault.kind}\n`);
process.stdout.write(`wardgate-sim: ${beds} beds running; Ctrl-C to stop\n`);

// "fault DEVICE FAULT" / "clear DEVICE" on stdin, one per line; errors are answered, never fatal.
createInterface({ input: process.stdin }).on('line', (line) => {
  const [command, id, fault] = line.trim().split(/\s+/);
  if (!command) return;
  try {
    if (command === 'fault' && id && fault) {
      faultyDevice(id).setFault(parseFault(fault));
      process.stdout.write(`fault: ${id} ${fault}\n`);
    } else if (command === 'clear' && id) {
      faultyDevice(id).setFault(null);
      process.stdout.write(`cleared: ${id}\n`);
    } else {
      throw new Error(`say "fault DEVICE FAULT" (${FAULT_KINDS.join(', ')}) or "clear DEVICE"`);
    }
  } catch (e) {
    process.stdout.write(`error: ${(e as Error).message}\n`);
  }
});

const shutdown = async () => {
  await ward.stop();
  process.exit(0);
};
process.on('SIGINT', shutdown);
process.on('SIGTERM', shutdown);
