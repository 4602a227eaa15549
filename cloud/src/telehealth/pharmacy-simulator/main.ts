import { parseArgs } from 'node:util';
import { startPharmacySimulator } from './server.ts';

const USAGE =
  'usage: node --import tsx cloud/src/telehealth/pharmacy-simulator/main.ts --port N ' +
  '[--host H] [--fail-first K] [--drop-first K] [--error-rxnorm CODE]...';

function count(value: string | undefined, name: string): number | undefined {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value)) {
    console.error(`${name} must be a whole number\n${USAGE}`);
    process.exit(2);
  }
  return Number(value);
}

let args: ReturnType<typeof parse>;
function parse() {
  return parseArgs({
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'fail-first': { type: 'string' },
      'drop-first': { type: 'string' },
      'error-rxnorm': { type: 'string', multiple: true },
      help: { type: 'boolean' },
    },
  }).values;
}
try {
  args = parse();
} catch (error) {
  console.error(`${(error as Error).message}\n${USAGE}`);
  process.exit(2);
}
if (args.help) {
  console.log(USAGE);
  process.exit(0);
}

const simulator = await startPharmacySimulator({
  port: count(args.port, '--port') ?? 0,
  host: args.host,
  failFirst: count(args['fail-first'], '--fail-first'),
  dropFirst: count(args['drop-first'], '--drop-first'),
  errorForRxnorm: args['error-rxnorm'],
  log: (line) => console.error(line),
});
console.log(simulator.url);

for (const signal of ['SIGINT', 'SIGTERM'] as const)
  process.once(signal, () => {
    simulator.close().then(() => process.exit(0));
  });
