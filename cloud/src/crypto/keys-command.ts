import { parseArgs } from 'node:util';
import type { CliContext } from '../cli-context.ts';
import { type EncryptionCoverage, encryptionCoverage } from './coverage.ts';
import { keyRingOf } from './db-key-ring.ts';
import { createKeyFile, keyFileBeside, rotateKeyFile } from './key-file.ts';
import { reencryptPass } from './key-rotation.ts';

export const KEYS_USAGE = `  keys create --key-file F
      A new PHI key file (mode 0600) for a PostgreSQL install. PGlite makes its own beside
      --data-dir on first start (D.phi-keys.json). Keep the file, and a copy apart from the
      database and its backups: without it the patient records cannot be read.
  keys rotate [--data-dir D]
      Add a key version and make it current. A running serve picks it up within 30 s and
      re-seals the older values in the background; every version stays readable meanwhile.
  keys status [--data-dir D]
      Per PHI column: values sealed by each key version, and any still in clear.
  keys reencrypt [--data-dir D]
      Seal what is in clear and re-seal older versions now (for PGlite while serve is stopped).
  Every command that opens the database takes --key-file F (or WARDGATE_KEY_FILE); PostgreSQL
  (DATABASE_URL) needs one.`;

/** `wardgate-cloud keys <command>`: the exit code. */
export async function keysCommand(args: string[], cli: CliContext): Promise<number> {
  const [action, ...rest] = args;
  let values: { 'data-dir'?: string; help?: boolean };
  try {
    values = parseArgs({
      args: rest,
      options: { 'data-dir': { type: 'string' }, help: { type: 'boolean' } },
      strict: true,
    }).values;
  } catch (error) {
    throw cli.usageError((error as Error).message);
  }
  if (values.help) return cli.usage(0);
  const options = cli.databaseOptions(values['data-dir']);
  switch (action) {
    case 'create': {
      if (!options.keyFile) throw cli.usageError('keys create: --key-file F is required');
      const ring = await createKeyFile(options.keyFile).catch((error) => {
        if ((error as NodeJS.ErrnoException).code === 'EEXIST')
          throw new Error(`${options.keyFile} exists; it is not replaced`);
        throw error;
      });
      console.log(`made ${ring.describe} (mode 0600), key version ${ring.currentVersion}`);
      console.log('keep it, and a copy apart from the database and its backups');
      return 0;
    }
    case 'rotate': {
      const path = keyFileOf(options, cli);
      const version = await rotateKeyFile(path);
      console.log(`key version ${version} is current in ${path}`);
      console.log(
        'a running serve re-seals the older values in the background (keys status shows them); with serve stopped: keys reencrypt',
      );
      return 0;
    }
    case 'status':
      return cli.withDatabase(values['data-dir'], async (database) => {
        printCoverage(await encryptionCoverage(database.db));
        return 0;
      });
    case 'reencrypt':
      return cli.withDatabase(values['data-dir'], async (database) => {
        const ring = keyRingOf(database.db);
        const pass = await reencryptPass(database.db, ring);
        console.log(
          `${pass.sealed} value(s) in clear sealed, ${pass.resealed} re-sealed with key version ${ring.currentVersion}`,
        );
        const coverage = await encryptionCoverage(database.db);
        printCoverage(coverage);
        return coverage.status === 'ok' ? 0 : 1;
      });
    default:
      throw cli.usageError(
        action ? `unknown keys command "${action}"` : 'keys: create, rotate, status or reencrypt?',
      );
  }
}

function keyFileOf(options: ReturnType<CliContext['databaseOptions']>, cli: CliContext) {
  if (options.keyFile) return options.keyFile;
  if (options.dataDir) return keyFileBeside(options.dataDir);
  throw cli.usageError('PostgreSQL (DATABASE_URL): give --key-file F or WARDGATE_KEY_FILE');
}

function printCoverage(coverage: EncryptionCoverage): void {
  console.log(`current key version ${coverage.currentVersion}: ${coverage.message}`);
  for (const c of coverage.columns) {
    const versions = Object.entries(c.byVersion)
      .map(([v, n]) => `v${v} ${n}`)
      .join(', ');
    console.log(
      `${c.table}.${c.column}\t${c.total} value(s)\tsealed ${c.sealed}${versions ? ` (${versions})` : ''}\tclear ${c.clear}`,
    );
  }
  if (coverage.clearPersonIndexRows > 0)
    console.log(`person search index rows in clear: ${coverage.clearPersonIndexRows}`);
}
