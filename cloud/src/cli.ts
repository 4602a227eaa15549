import { parseArgs } from 'node:util';
// Shared with the edge; the whole repository is installed together (systemd/install.sh).
import { startSystemdNotify } from '@wardgate/shared';
import { AUDIT_USAGE, auditCommand } from './audit/cli.ts';
import { CLIENTS_USAGE, clientsCommand, USERS_USAGE, usersCommand } from './auth/cli.ts';
import {
  BACKUP_SERVE_OPTIONS,
  BACKUP_USAGE,
  backupCommand,
  backupServeOptions,
} from './backup/cli.ts';
import { seedDemo } from './beds/seed-demo.ts';
import {
  type ChartingOptions,
  chartingOptions,
  DEFAULT_CHARTING,
  parseChartInterval,
} from './charting/options.ts';
import type { CliContext } from './cli-context.ts';
import { checkKeyRingFits, keyRingOf, resolveKeyRing } from './crypto/index.ts';
import { KEYS_USAGE, keysCommand } from './crypto/keys-command.ts';
import { type Database, openDatabase } from './db/database.ts';
import { createEnrollment } from './gateways/enrollment.ts';
import { addGateway, listGateways, revokeGateway } from './gateways/registry.ts';
import { startCloud } from './server.ts';
import { PROVIDERS_USAGE, providersCommand } from './telehealth/providers-command.ts';
import {
  TELEHEALTH_SERVE_OPTIONS,
  TELEHEALTH_SERVE_USAGE,
  telehealthServeOptions,
} from './telehealth/serve-options.ts';
import { CA_USAGE, caCommand } from './tls/ca-command.ts';

const USAGE = `Usage: wardgate-cloud <command> [options]

Commands:
  serve [--data-dir D] [--http-port N] [--mqtt-port N] [--host H]
      Run the cloud: MQTT broker with ingest, HTTP /health and FHIR R4 at /fhir/R4.
      Ports default to CLOUD_HTTP_PORT (4780) and CLOUD_MQTT_PORT (4783); 0 picks free ports.
      [--chart-interval SECONDS] [--chart-interval PARAMETER=SECONDS ...]
      Device readings are charted as preliminary Observations, one per slot of this length
      (default 900 s; per parameter, e.g. MDC_TEMP_BODY=3600).
      [--tls-cert FILE --tls-key FILE]
      HTTPS and MQTT over TLS (mqtts://) with this PEM certificate (chain) and key; also from
      CLOUD_TLS_CERT and CLOUD_TLS_KEY. A test install can make them with ca init.
      [--durable-read-audit]
      PostgreSQL: a read's audit record waits for the disk flush too (by default only writes,
      exports, refusals and sign-ins do; a database crash can then lose ~0.6 s of read records).
${TELEHEALTH_SERVE_USAGE}
  gateways create --id ID [--ttl-hours H] [--data-dir D]
      A one-time enrollment token for a new gateway (redeemed by wardgate-edge enroll).
  gateways add --id ID --public-key BASE64 --password P [--data-dir D]
      Enroll a gateway: its Ed25519 public key and its MQTT password.
  gateways list [--data-dir D]
  gateways revoke --id ID [--data-dir D]
  seed-demo --gateway ID --beds N [--data-dir D]
      Create demo patients DEMO-0001..N and put patient i in bed-i of the gateway (idempotent).
${AUDIT_USAGE}
${BACKUP_USAGE}
${CA_USAGE}
${KEYS_USAGE}
${USERS_USAGE}
${CLIENTS_USAGE}
${PROVIDERS_USAGE}

The database is PostgreSQL when DATABASE_URL is set, else PGlite in --data-dir
(default ./wardgate-cloud-data). PGlite allows one process at a time: stop serve first.`;

/** A wrong command line: the message, then the usage, exit code 2. */
class UsageError extends Error {}

type OptionSpec = Record<string, { type: 'string' | 'boolean' }>;

const DATA_DIR = { 'data-dir': { type: 'string' } } as const;

function parse<T extends OptionSpec>(args: string[], options: T) {
  try {
    return parseArgs({ args, options: { ...options, help: { type: 'boolean' } }, strict: true })
      .values;
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
}

function required(values: Record<string, unknown>, name: string): string {
  const value = values[name];
  if (typeof value !== 'string' || value.length === 0)
    throw new UsageError(`--${name} is required`);
  return value;
}

function integerOption(
  value: string | undefined,
  name: string,
  fallback: number,
  max: number,
): number {
  if (value === undefined) return fallback;
  if (!/^\d+$/.test(value) || Number(value) > max) {
    throw new UsageError(`${name} must be an integer from 0 to ${max}, got "${value}"`);
  }
  return Number(value);
}

/** `--key-file F` given to any command (taken out of the arguments by main), else the env. */
let keyFileOption: string | undefined;

function databaseOptions(dataDir: string | undefined) {
  const databaseUrl = process.env.DATABASE_URL || undefined;
  return {
    databaseUrl,
    dataDir: databaseUrl ? undefined : (dataDir ?? './wardgate-cloud-data'),
    keyFile: keyFileOption ?? (process.env.WARDGATE_KEY_FILE || undefined),
  };
}

async function withDatabase<R>(
  dataDir: string | undefined,
  run: (database: Database) => Promise<R>,
): Promise<R> {
  const options = databaseOptions(dataDir);
  const keyRing = await resolveKeyRing({ ...options, log: (message) => console.log(message) });
  const database = await openDatabase({ ...options, keyRing });
  try {
    await checkKeyRingFits(database.db, keyRingOf(database.db));
    return await run(database);
  } finally {
    await database.close();
  }
}

const iso = (ms: number) => new Date(ms).toISOString();

async function serve(args: string[]): Promise<number> {
  const values = parse(args, {
    ...DATA_DIR,
    'http-port': { type: 'string' },
    'mqtt-port': { type: 'string' },
    host: { type: 'string' },
    'chart-interval': { type: 'string', multiple: true },
    ...BACKUP_SERVE_OPTIONS,
    'tls-cert': { type: 'string' },
    'tls-key': { type: 'string' },
    'durable-read-audit': { type: 'boolean' },
    ...TELEHEALTH_SERVE_OPTIONS,
  });
  if (values.help) return usage(0);
  const tlsCert = values['tls-cert'] ?? process.env.CLOUD_TLS_CERT;
  const tlsKey = values['tls-key'] ?? process.env.CLOUD_TLS_KEY;
  if (Boolean(tlsCert) !== Boolean(tlsKey))
    throw new UsageError('--tls-cert and --tls-key (CLOUD_TLS_CERT, CLOUD_TLS_KEY) go together');
  const chartIntervals = { ...DEFAULT_CHARTING, parameterIntervals: {} };
  for (const text of values['chart-interval'] ?? []) parseChartInterval(text, chartIntervals);
  let charting: ChartingOptions;
  try {
    charting = chartingOptions({
      ...chartIntervals,
      // Short slots (a demo) are charted soon after they end.
      settleSeconds: Math.min(DEFAULT_CHARTING.settleSeconds, chartIntervals.intervalSeconds),
      runEverySeconds: Math.min(DEFAULT_CHARTING.runEverySeconds, chartIntervals.intervalSeconds),
    });
  } catch (error) {
    throw new UsageError(`--chart-interval: ${(error as Error).message}`);
  }
  const httpPort = integerOption(
    values['http-port'] ?? process.env.CLOUD_HTTP_PORT,
    '--http-port / CLOUD_HTTP_PORT',
    4780,
    65535,
  );
  const mqttPort = integerOption(
    values['mqtt-port'] ?? process.env.CLOUD_MQTT_PORT,
    '--mqtt-port / CLOUD_MQTT_PORT',
    4783,
    65535,
  );
  const cloud = await startCloud({
    ...databaseOptions(values['data-dir']),
    host: values.host,
    httpPort,
    mqttPort,
    charting,
    backup: await backupServeOptions(values, (message) => new UsageError(message)),
    tls: tlsCert && tlsKey ? { cert: tlsCert, key: tlsKey } : undefined,
    app: {
      durableReadAudit: values['durable-read-audit'],
      telehealth: telehealthServeOptions(values, process.env, (m) => new UsageError(m)),
    },
    log: (message) => console.log(`${iso(Date.now())} ${message}`),
  });
  // Listening before the ready lines: a supervisor may signal as soon as it reads them.
  const stopSignal = new Promise<NodeJS.Signals>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  console.log(`wardgate cloud running, database ${cloud.database.describe}`);
  console.log(
    `http ${cloud.httpUrl} (health ${cloud.httpUrl}/health, FHIR R4 ${cloud.httpUrl}/fhir/R4)`,
  );
  console.log(`mqtt ${cloud.mqttUrl}`);
  const systemd = startSystemdNotify({
    log: (level, message) =>
      (level === 'info' ? console.log : console.error)(`${iso(Date.now())} ${message}`),
  });
  systemd.ready(`http ${cloud.httpUrl}, mqtt ${cloud.mqttUrl}`);

  const signal = await stopSignal;
  console.log(`${signal}: stopping`);
  systemd.stopping();
  const force = (again: NodeJS.Signals) => {
    console.error(`${again} again: exiting without a clean stop`);
    process.exit(1);
  };
  process.once('SIGINT', force);
  process.once('SIGTERM', force);
  await cloud.stop();
  console.log('stopped');
  return 0;
}

async function gateways(args: string[]): Promise<number> {
  const [action, ...rest] = args;
  switch (action) {
    case 'add': {
      const values = parse(rest, {
        ...DATA_DIR,
        id: { type: 'string' },
        'public-key': { type: 'string' },
        password: { type: 'string' },
      });
      if (values.help) return usage(0);
      const gateway = {
        id: required(values, 'id'),
        publicKey: required(values, 'public-key'),
        password: required(values, 'password'),
      };
      const added = await withDatabase(values['data-dir'], (database) =>
        addGateway(database.db, gateway),
      );
      console.log(`gateway ${added.id} added`);
      return 0;
    }
    case 'create': {
      const values = parse(rest, {
        ...DATA_DIR,
        id: { type: 'string' },
        'ttl-hours': { type: 'string' },
      });
      if (values.help) return usage(0);
      const id = required(values, 'id');
      const hours = values['ttl-hours'] === undefined ? 24 : Number(values['ttl-hours']);
      if (!(hours > 0 && hours <= 24 * 30))
        throw new UsageError('--ttl-hours must be a number of hours, at most 720');
      const created = await withDatabase(values['data-dir'], (database) =>
        createEnrollment(database.db, { gatewayId: id, ttlMs: hours * 3_600_000 }),
      );
      console.log(
        `enrollment token for ${created.gatewayId} (one use, valid until ${iso(created.expiresAt)}):`,
      );
      console.log(created.token);
      console.log(
        `on the gateway: wardgate-edge enroll --cloud http://<this cloud>:<http port> --token ${created.token} --config <config file>`,
      );
      return 0;
    }
    case 'list': {
      const values = parse(rest, DATA_DIR);
      if (values.help) return usage(0);
      const all = await withDatabase(values['data-dir'], (database) => listGateways(database.db));
      if (all.length === 0) console.log('no gateways');
      for (const g of all) {
        const state = g.revokedAt === null ? 'active' : `revoked ${iso(g.revokedAt)}`;
        console.log(`${g.id}\t${state}\tadded ${iso(g.createdAt)}\tkey ${g.publicKey}`);
      }
      return 0;
    }
    case 'revoke': {
      const values = parse(rest, { ...DATA_DIR, id: { type: 'string' } });
      if (values.help) return usage(0);
      const id = required(values, 'id');
      const revoked = await withDatabase(values['data-dir'], (database) =>
        revokeGateway(database.db, id),
      );
      console.log(`gateway ${revoked.id} revoked at ${iso(revoked.revokedAt ?? Date.now())}`);
      return 0;
    }
    default:
      throw new UsageError(
        action ? `unknown gateways command "${action}"` : 'gateways: create, add, list or revoke?',
      );
  }
}

async function seed(args: string[]): Promise<number> {
  const values = parse(args, {
    ...DATA_DIR,
    gateway: { type: 'string' },
    beds: { type: 'string' },
  });
  if (values.help) return usage(0);
  const gatewayId = required(values, 'gateway');
  const beds = integerOption(required(values, 'beds'), '--beds', 0, 999);
  const result = await withDatabase(values['data-dir'], (database) =>
    seedDemo(database.db, { gatewayId, beds }),
  );
  console.log(
    `demo: ${result.patientsCreated} patient(s) created, ${result.bedsAssigned} bed(s) assigned on ${gatewayId}`,
  );
  return 0;
}

function usage(code: number): number {
  (code === 0 ? console.log : console.error)(USAGE);
  return code;
}

/** Removes `--key-file F` / `--key-file=F` from the arguments of any command; F or undefined. */
function takeKeyFile(argv: string[]): string | undefined {
  let found: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    if (argv[i] === '--key-file') {
      found = argv[i + 1];
      if (found === undefined || found.startsWith('--'))
        throw new UsageError('--key-file needs a file');
      argv.splice(i, 2);
      i--;
    } else if (argv[i].startsWith('--key-file=')) {
      found = argv[i].slice('--key-file='.length);
      argv.splice(i, 1);
      i--;
    }
  }
  return found;
}

export async function main(argv: string[]): Promise<number> {
  const args = [...argv];
  const context: CliContext = {
    databaseOptions,
    withDatabase,
    usageError: (message) => new UsageError(message),
    usage,
  };
  try {
    keyFileOption = takeKeyFile(args);
    const [command, ...rest] = args;
    switch (command) {
      case 'serve':
        return await serve(rest);
      case 'gateways':
        return await gateways(rest);
      case 'seed-demo':
        return await seed(rest);
      case 'audit':
        return await auditCommand(rest, context);
      case 'backup':
        return await backupCommand(rest, context);
      case 'ca':
        return await caCommand(rest, (message) => new UsageError(message));
      case 'keys':
        return await keysCommand(rest, context);
      case 'users':
        return await usersCommand(rest, context);
      case 'clients':
        return await clientsCommand(rest, context);
      case 'providers':
        return await providersCommand(rest, context);
      case undefined:
      case '--help':
      case '-h':
      case 'help':
        return usage(args[0] === undefined ? 2 : 0);
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`error: ${error.message}\n`);
      return usage(2);
    }
    console.error(`error: ${(error as Error).message}`);
    return 1;
  }
}

process.exitCode = await main(process.argv.slice(2));
