import { copyFile, constants as fsConstants } from 'node:fs/promises';
import { basename, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { CliContext } from '../cli-context.ts';
import { keyFileBeside, loadKeyRing } from '../crypto/key-file.ts';
import { ephemeralKeyRing } from '../crypto/key-ring.ts';
import { checkKeyRingFits } from '../crypto/key-ring-setup.ts';
import { openDatabase } from '../db/database.ts';
import { createBackup } from './create-backup.ts';
import { readBackupHeader } from './format.ts';
import { generateBackupKeyFile, readBackupKeyFile } from './key-file.ts';
import { restoreBackup } from './restore.ts';
import { listBackupFiles } from './retention.ts';
import type { BackupScheduleOptions } from './schedule.ts';
import { verifyBackup } from './verify.ts';

export const BACKUP_USAGE = `  backup keygen --out F
      A new random backup key in F (mode 0600; never overwrites). Keep a copy apart from the
      backups: without it they cannot be read.
  backup run --dir D --backup-key-file F [--data-dir D2] [--verify]
      An encrypted backup of the whole database into D (wardgate-backup-<UTC time>.wgbak);
      --verify also restores it into a scratch database and compares. PGlite: stop serve first.
  backup verify FILE --backup-key-file F [--data-dir D2] [--scratch-postgres URL]
      Restore FILE into a scratch database (in-memory PGlite, or a new database on the server
      of URL, dropped after) and prove it identical; exit 1 when not. With --data-dir or
      DATABASE_URL the result is recorded in that database's backup runs.
  backup list --dir D
  backup restore FILE --backup-key-file F [--data-dir D2] [--key-file PHI_KEYS]
      Restore FILE into an empty database (a new --data-dir, or DATABASE_URL's, migrated).
      The records stay sealed with the PHI keys of the database backed up: give its key file
      (--key-file, WARDGATE_KEY_FILE) to check them, and, for PGlite, to put it beside D2.
  serve ... [--backup-dir D --backup-key-file F [--backup-schedule CRON]]
      Scheduled backups (default "0 2 * * *"), each verified by a scratch restore, newest 14
      kept (and the newest verified one).`;

type Spec = Record<string, { type: 'string' | 'boolean' }>;

function parse(args: string[], options: Spec, cli: CliContext, positionals = 0) {
  let parsed: ReturnType<typeof parseArgs>;
  try {
    parsed = parseArgs({
      args,
      options: { ...options, help: { type: 'boolean' } },
      strict: true,
      allowPositionals: positionals > 0,
    });
  } catch (error) {
    throw cli.usageError((error as Error).message);
  }
  if (parsed.positionals.length > positionals)
    throw cli.usageError(`unexpected argument "${parsed.positionals[positionals]}"`);
  return {
    values: parsed.values as Record<string, string | boolean | undefined>,
    positionals: parsed.positionals,
  };
}

function required(values: Record<string, unknown>, name: string, cli: CliContext): string {
  const value = values[name];
  if (typeof value !== 'string' || value.length === 0)
    throw cli.usageError(`--${name} is required`);
  return value;
}

function fileArgument(positionals: string[], cli: CliContext): string {
  if (!positionals[0]) throw cli.usageError('the backup FILE is required');
  return positionals[0];
}

const mb = (bytes: number) => `${(bytes / 1_048_576).toFixed(1)} MB`;
const iso = (ms: number) => new Date(ms).toISOString();

/** `wardgate-cloud backup <command>`: the exit code. */
export async function backupCommand(args: string[], cli: CliContext): Promise<number> {
  const [action, ...rest] = args;
  switch (action) {
    case 'keygen': {
      const { values } = parse(rest, { out: { type: 'string' } }, cli);
      if (values.help) return cli.usage(0);
      const out = required(values, 'out', cli);
      await generateBackupKeyFile(out);
      console.log(`backup key written to ${out} (mode 0600); keep a copy apart from the backups`);
      return 0;
    }
    case 'run': {
      const { values } = parse(
        rest,
        {
          dir: { type: 'string' },
          'backup-key-file': { type: 'string' },
          'data-dir': { type: 'string' },
          verify: { type: 'boolean' },
        },
        cli,
      );
      if (values.help) return cli.usage(0);
      const dir = required(values, 'dir', cli);
      const key = await readBackupKeyFile(required(values, 'backup-key-file', cli));
      return cli.withDatabase(values['data-dir'] as string | undefined, async (database) => {
        const backup = await createBackup(database.db, { dir, key });
        console.log(
          `backup ${backup.file}: ${backup.rows} rows in ${backup.tables.length} tables, ${mb(backup.bytes)}, ${((backup.finishedAt - backup.startedAt) / 1000).toFixed(1)} s, sha256 ${backup.sha256}`,
        );
        if (values.verify) {
          const verified = await verifyBackup(backup.file, key, { db: database.db });
          console.log(`verified identical by a restore into ${verified.scratch}`);
        }
        return 0;
      });
    }
    case 'verify': {
      const { values, positionals } = parse(
        rest,
        {
          'backup-key-file': { type: 'string' },
          'data-dir': { type: 'string' },
          'scratch-postgres': { type: 'string' },
        },
        cli,
        1,
      );
      if (values.help) return cli.usage(0);
      const file = fileArgument(positionals, cli);
      const key = await readBackupKeyFile(required(values, 'backup-key-file', cli));
      const options = { scratchPostgresUrl: values['scratch-postgres'] as string | undefined };
      const record = values['data-dir'] !== undefined || Boolean(process.env.DATABASE_URL);
      const verified = record
        ? await cli.withDatabase(values['data-dir'] as string | undefined, (database) =>
            verifyBackup(file, key, { ...options, db: database.db }),
          )
        : await verifyBackup(file, key, options);
      console.log(
        `${basename(file)}: restore identical (${verified.rows} rows in ${verified.tables.length} tables, scratch ${verified.scratch})${record ? (verified.recorded ? '; recorded as verified' : '; no backup run of this file in the database to record it on') : ''}`,
      );
      return 0;
    }
    case 'list': {
      const { values } = parse(rest, { dir: { type: 'string' } }, cli);
      if (values.help) return cli.usage(0);
      const dir = required(values, 'dir', cli);
      const files = await listBackupFiles(dir);
      if (files.length === 0) console.log(`no backups in ${dir}`);
      for (const file of files) {
        const header = await readBackupHeader(file.path).catch(() => undefined);
        const schema = header
          ? `schema ${header.schema.lastTag ?? `${header.schema.migrations} migrations`}, key ${header.keyId}`
          : 'unreadable header';
        console.log(`${file.name}\t${iso(file.takenAt)}\t${mb(file.bytes)}\t${schema}`);
      }
      return 0;
    }
    case 'restore': {
      const { values, positionals } = parse(
        rest,
        {
          'backup-key-file': { type: 'string' },
          'data-dir': { type: 'string' },
        },
        cli,
        1,
      );
      if (values.help) return cli.usage(0);
      const file = fileArgument(positionals, cli);
      const key = await readBackupKeyFile(required(values, 'backup-key-file', cli));
      return restoreCommand(
        file,
        key,
        cli.databaseOptions(values['data-dir'] as string | undefined),
      );
    }
    default:
      throw cli.usageError(
        action
          ? `unknown backup command "${action}"`
          : 'backup: keygen, run, verify, list or restore?',
      );
  }
}

async function restoreCommand(
  file: string,
  key: Uint8Array,
  options: { databaseUrl?: string; dataDir?: string; keyFile?: string },
): Promise<number> {
  const { databaseUrl, dataDir, keyFile: phiKeyFile } = options;
  // The restore opens no sealed value: without the PHI key file a throwaway ring is enough, and
  // no key file is made beside a new data folder (one made now would not open the records).
  const keyRing = phiKeyFile ? await loadKeyRing(phiKeyFile) : await ephemeralKeyRing();
  const database = await openDatabase({ databaseUrl, dataDir, keyRing });
  try {
    const restored = await restoreBackup(file, key, database.db);
    console.log(
      `restored ${basename(file)} (taken ${iso(restored.header.createdAt)}) into ${database.describe}: ${restored.rows} rows in ${restored.tables.length} tables`,
    );
    if (!phiKeyFile) {
      console.log(
        'the records are sealed with the PHI keys of the database backed up: start the cloud with that key file (--key-file)',
      );
      return 0;
    }
    await checkKeyRingFits(database.db, keyRing);
    console.log(`the PHI key file ${phiKeyFile} opens the restored records`);
    if (dataDir) {
      const beside = keyFileBeside(dataDir);
      await copyFile(resolve(phiKeyFile), beside, fsConstants.COPYFILE_EXCL).then(
        () => console.log(`copied it to ${beside}, where serve --data-dir ${dataDir} finds it`),
        (error: NodeJS.ErrnoException) => {
          if (error.code !== 'EEXIST') throw error;
        },
      );
    }
    return 0;
  } finally {
    await database.close();
  }
}

/**
 * The serve command's backup options: `--backup-dir D --backup-key-file F
 * [--backup-schedule CRON]`; undefined when there is no --backup-dir.
 */
export const BACKUP_SERVE_OPTIONS = {
  'backup-dir': { type: 'string' },
  'backup-key-file': { type: 'string' },
  'backup-schedule': { type: 'string' },
} as const;

export async function backupServeOptions(
  values: { 'backup-dir'?: string; 'backup-key-file'?: string; 'backup-schedule'?: string },
  usageError: (message: string) => Error,
): Promise<Omit<BackupScheduleOptions, 'log'> | undefined> {
  const dir = values['backup-dir'];
  if (!dir) {
    if (values['backup-key-file'] || values['backup-schedule'])
      throw usageError('--backup-key-file and --backup-schedule need --backup-dir');
    return undefined;
  }
  const keyFile = values['backup-key-file'];
  if (!keyFile)
    throw usageError(
      '--backup-dir needs --backup-key-file (make one with: wardgate-cloud backup keygen --out F)',
    );
  return { dir, key: await readBackupKeyFile(keyFile), cron: values['backup-schedule'] };
}
