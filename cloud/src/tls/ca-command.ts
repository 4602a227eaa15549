import { parseArgs } from 'node:util';
import { initCaDir, issueFromCaDir } from './ca-dir.ts';
import { parseHosts } from './hosts.ts';
import { DEFAULT_CA_DAYS, DEFAULT_SERVER_DAYS } from './x509.ts';

export const CA_USAGE = `  ca init --dir D --hosts H[,H...] [--days N] [--ca-days N]
      A local certificate authority for a test install: D/ca.crt (give it to every gateway as
      cloud.caFile), D/ca.key, and a server certificate for the host names and IP addresses H
      (D/server.crt, D/server.key) for serve --tls-cert/--tls-key. Keys are ECDSA P-256, mode
      0600. Server certificates are valid ${DEFAULT_SERVER_DAYS} days, the CA ${DEFAULT_CA_DAYS} days.
  ca issue --dir D --name NAME --hosts H[,H...] [--days N]
      Another server certificate from the CA in D: D/NAME.crt and D/NAME.key.`;

type UsageErrorOf = (message: string) => Error;

function days(value: string | undefined, name: string, usageError: UsageErrorOf) {
  if (value === undefined) return undefined;
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > 36_500)
    throw usageError(`--${name} must be a number of days from 1 to 36500, got "${value}"`);
  return Number(value);
}

function hostsOption(value: string | undefined, usageError: UsageErrorOf) {
  if (!value) throw usageError('--hosts is required (e.g. --hosts localhost,127.0.0.1)');
  try {
    return parseHosts(value);
  } catch (error) {
    throw usageError(`--hosts: ${(error as Error).message}`);
  }
}

/** `wardgate-cloud ca ...`; wrong command lines become `usageError(message)`. */
export async function caCommand(args: string[], usageError: UsageErrorOf): Promise<number> {
  const [action, ...rest] = args;
  if (action !== 'init' && action !== 'issue')
    throw usageError(action ? `unknown ca command "${action}"` : 'ca: init or issue?');
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({
      args: rest,
      options: {
        dir: { type: 'string' },
        hosts: { type: 'string' },
        name: { type: 'string' },
        days: { type: 'string' },
        'ca-days': { type: 'string' },
      },
      strict: true,
    }).values;
  } catch (error) {
    throw usageError((error as Error).message);
  }
  const dir = values.dir;
  if (typeof dir !== 'string' || dir === '') throw usageError('--dir is required');
  const hosts = () => hostsOption(values.hosts as string | undefined, usageError);
  switch (action) {
    case 'init': {
      if (values.name !== undefined) throw usageError('ca init names its certificate "server"');
      const made = await initCaDir({
        dir,
        hosts: hosts(),
        serverDays: days(values.days as string | undefined, 'days', usageError),
        caDays: days(values['ca-days'] as string | undefined, 'ca-days', usageError),
      });
      console.log(`CA certificate ${made.caCertFile} (give it to every gateway and client)`);
      console.log(`CA key         ${made.caKeyFile} (keep it private, off the server if you can)`);
      console.log(`server         ${made.server.certFile}, ${made.server.keyFile}`);
      console.log(
        `serve with: wardgate-cloud serve --tls-cert ${made.server.certFile} --tls-key ${made.server.keyFile}`,
      );
      return 0;
    }
    default: {
      if (values['ca-days'] !== undefined) throw usageError('--ca-days is for ca init');
      const name = values.name;
      if (typeof name !== 'string' || name === '') throw usageError('--name is required');
      const issued = await issueFromCaDir({
        dir,
        name,
        hosts: hosts(),
        days: days(values.days as string | undefined, 'days', usageError),
      });
      console.log(`server certificate ${issued.certFile}, key ${issued.keyFile}`);
      return 0;
    }
  }
}
