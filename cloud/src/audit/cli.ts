import { readFile, rename, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { CliContext } from '../cli-context.ts';
import type { ChainHead } from './chain-writer.ts';
import { parseHead, verifyAuditChain } from './verify.ts';

export const AUDIT_USAGE = `  audit verify [--data-dir D] [--expect-head SEQ:HASH] [--head-file FILE] [--incremental]
      Check the audit trail's hash chain; exit 1 with the position and kind of the first
      problem. --expect-head: a head verified before (from an earlier run or a compliance
      report) that the log must still reach unchanged; --head-file: read that head from FILE
      when it exists and write the new head there after a clean check (keep FILE off the
      database host) — so rows deleted from the end are found too. --incremental: check only
      the rows after that head (a full check, without it, also covers the older rows).`;

async function readHeadFile(path: string): Promise<ChainHead | undefined> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const head = parseHead(text);
  if (!head) throw new Error(`${path} does not hold a head (SEQ:HASH)`);
  return head;
}

async function writeHeadFile(path: string, head: ChainHead): Promise<void> {
  const temporary = `${path}.tmp`;
  await writeFile(temporary, `${head.seq}:${head.hash}\n`, { mode: 0o600 });
  await rename(temporary, path);
}

/** `wardgate-cloud audit <command>`: the exit code (0 verified, 1 broken). */
export async function auditCommand(args: string[], cli: CliContext): Promise<number> {
  const [action, ...rest] = args;
  if (action !== 'verify')
    throw cli.usageError(action ? `unknown audit command "${action}"` : 'audit: verify?');
  let values: {
    'data-dir'?: string;
    'expect-head'?: string;
    'head-file'?: string;
    incremental?: boolean;
    help?: boolean;
  };
  try {
    values = parseArgs({
      args: rest,
      options: {
        'data-dir': { type: 'string' },
        'expect-head': { type: 'string' },
        'head-file': { type: 'string' },
        incremental: { type: 'boolean' },
        help: { type: 'boolean' },
      },
      strict: true,
    }).values;
  } catch (error) {
    throw cli.usageError((error as Error).message);
  }
  if (values.help) return cli.usage(0);
  let expectHead: ChainHead | undefined;
  if (values['expect-head'] !== undefined) {
    expectHead = parseHead(values['expect-head']);
    if (!expectHead) throw cli.usageError('--expect-head must be SEQ:HASH (64 hex digits)');
  }
  const headFile = values['head-file'];
  if (headFile) {
    const fromFile = await readHeadFile(headFile);
    if (
      fromFile &&
      expectHead &&
      (fromFile.seq !== expectHead.seq || fromFile.hash !== expectHead.hash)
    )
      throw cli.usageError('--expect-head and --head-file name different heads');
    expectHead ??= fromFile;
  }

  if (values.incremental && !expectHead)
    throw cli.usageError(
      '--incremental needs the head to start after (--head-file or --expect-head)',
    );
  const startAfter = values.incremental ? expectHead : undefined;
  const result = await cli.withDatabase(values['data-dir'], (database) =>
    verifyAuditChain(database.db, { expectHead, startAfter }),
  );
  if (result.ok) {
    console.log(
      `audit chain verified: ${result.checked} record(s)${startAfter ? ` after seq ${startAfter.seq}` : ''}, head seq ${result.headSeq} hash ${result.headHash}`,
    );
    if (expectHead) console.log(`it still reaches seq ${expectHead.seq} as verified before`);
    if (headFile) await writeHeadFile(headFile, { seq: result.headSeq, hash: result.headHash });
    return 0;
  }
  const problem = result.firstProblem;
  console.log(`audit chain BROKEN at seq ${problem?.seq} (${problem?.kind})`);
  console.log(problem?.message);
  console.log(`${result.checked} record(s) before it verified`);
  return 1;
}
