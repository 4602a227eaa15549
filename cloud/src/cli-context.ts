import type { Database } from './db/database.ts';

/** What the main CLI (cli.ts) lends each feature's commands: database access and usage handling. */
export interface CliContext {
  /** Where the database is (DATABASE_URL, else --data-dir) and the PHI key file (--key-file). */
  databaseOptions: (dataDir: string | undefined) => {
    databaseUrl?: string;
    dataDir?: string;
    keyFile?: string;
  };
  /** Opens the database, runs `run`, closes it. */
  withDatabase: <R>(
    dataDir: string | undefined,
    run: (database: Database) => Promise<R>,
  ) => Promise<R>;
  /** The CLI's wrong-command-line error (printed with the usage, exit code 2). */
  usageError: (message: string) => Error;
  /** Prints the usage; the exit code. */
  usage: (code: number) => number;
}
