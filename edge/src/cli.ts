import { existsSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { generateSigningKeyPair, initCrypto, startSystemdNotify } from '@wardgate/shared';
import { DEVICES_USAGE, devicesCommand } from './cli/devices.ts';
import { ENROLL_USAGE, enrollCommand } from './cli/enroll.ts';
import { EXPORT_USAGE, exportCommand } from './cli/export.ts';
import { STATUS_USAGE, statusCommand } from './cli/status.ts';
import { EXAMPLE_CONFIG } from './config/example.ts';
import { ConfigError, loadConfig } from './config/load.ts';
import { serveGateway } from './http/app.ts';
import { consoleLogger, Gateway } from './runtime/gateway.ts';

const USAGE = `wardgate-edge — the ward gateway

usage:
  wardgate-edge run --config FILE            start the gateway (drivers, store, cloud sync, HTTP)
  wardgate-edge config check --config FILE   validate a config; problems are shown with their line
  wardgate-edge init [--out FILE]            write a commented example config (default wardgate-edge.yaml)
  wardgate-edge keygen --out FILE            make the gateway's Ed25519 signing key; prints the public key
${ENROLL_USAGE}
${DEVICES_USAGE}
${STATUS_USAGE}
${EXPORT_USAGE}

environment: EDGE_HTTP_PORT overrides http.port of the config.`;

class UsageError extends Error {}

async function main(argv: string[]): Promise<number> {
  const words = argv.filter((a) => !a.startsWith('-'));
  const command = words[0] === 'config' ? `config ${words[1] ?? ''}`.trim() : words[0];
  let values: Record<string, string | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        config: { type: 'string', short: 'c' },
        out: { type: 'string', short: 'o' },
        help: { type: 'boolean', short: 'h' },
        // devices test, export: parsed again by their own modules
        seconds: { type: 'string' },
        watch: { type: 'boolean' },
        bed: { type: 'string' },
        from: { type: 'string' },
        to: { type: 'string' },
        parameter: { type: 'string' },
        // enroll
        cloud: { type: 'string' },
        token: { type: 'string' },
        'ca-file': { type: 'string' },
      },
    }));
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  if (values.help || !command) {
    console.log(USAGE);
    return values.help ? 0 : 2;
  }
  const configFile = () => {
    if (typeof values.config !== 'string') throw new UsageError('--config FILE is required');
    return values.config;
  };

  switch (command) {
    case 'run':
      return run(configFile());
    case 'config check': {
      const loaded = loadConfig(configFile());
      console.log(
        `${loaded.file}: ok — gateway ${loaded.config.gateway.id}, ${loaded.config.devices.length} devices`,
      );
      return 0;
    }
    case 'init': {
      const out = typeof values.out === 'string' ? values.out : 'wardgate-edge.yaml';
      if (existsSync(out)) throw new Error(`${out} exists; not overwriting it`);
      writeFileSync(out, EXAMPLE_CONFIG);
      console.log(`wrote ${out}: edit it, then run: wardgate-edge config check --config ${out}`);
      return 0;
    }
    case 'keygen': {
      if (typeof values.out !== 'string') throw new UsageError('--out FILE is required');
      if (existsSync(values.out)) throw new Error(`${values.out} exists; not overwriting a key`);
      await initCrypto();
      const keys = generateSigningKeyPair();
      writeFileSync(
        values.out,
        `# wardgate gateway Ed25519 secret key — keep private\n${keys.secretKey}\n`,
        { mode: 0o600 },
      );
      console.log(
        `secret key written to ${values.out}\npublic key (register it with the cloud): ${keys.publicKey}`,
      );
      return 0;
    }
    case 'enroll':
      return enrollCommand(argv);
    case 'devices':
      return devicesCommand(argv);
    case 'status':
      return statusCommand(argv);
    case 'export':
      return exportCommand(argv);
    default:
      throw new UsageError(`unknown command "${command}"`);
  }
}

async function run(file: string): Promise<number> {
  const loaded = loadConfig(file);
  const envPort = process.env.EDGE_HTTP_PORT;
  if (envPort) {
    const port = Number(envPort);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new Error(`EDGE_HTTP_PORT must be a port number, got "${envPort}"`);
    loaded.config.http.port = port;
  }
  const gateway = await Gateway.start(loaded);
  const http = await serveGateway(gateway, loaded.config.http.host, loaded.config.http.port);
  consoleLogger(
    'info',
    `HTTP on http://${loaded.config.http.host}:${http.port} (/health, /metrics)`,
  );
  const mllp = gateway.drivers.find((d) => d.type === 'hl7-mllp') as
    | { address?: () => { port: number } }
    | undefined;
  if (mllp?.address) consoleLogger('info', `HL7 MLLP listener on port ${mllp.address().port}`);
  const systemd = startSystemdNotify({ log: consoleLogger });
  systemd.ready(`gateway ${loaded.config.gateway.id} up, HTTP port ${http.port}`);

  await new Promise<void>((resolve) => {
    const stop = (signal: string) => {
      consoleLogger('info', `${signal}: stopping`);
      resolve();
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  systemd.stopping();
  await http.close();
  await gateway.stop();
  return 0;
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: Error) => {
    if (error instanceof ConfigError) console.error(error.message);
    else console.error(`wardgate-edge: ${error.message}`);
    if (error instanceof UsageError) console.error(`\n${USAGE}`);
    process.exit(error instanceof UsageError ? 2 : 1);
  },
);
