import { and, asc, eq, gt } from 'drizzle-orm';
import type { Db } from '../db/database.ts';
import { auditLog, fhirResources } from '../db/schema.ts';
import { GENESIS_HASH, rowHash } from './chain-hash.ts';
import type { ChainHead } from './chain-writer.ts';

export type ChainProblemKind = 'hash-mismatch' | 'broken-link' | 'gap';

export interface ChainProblem {
  /** Where the chain is broken: the edited row, the row whose link fails, or the first missing seq. */
  seq: number;
  kind: ChainProblemKind;
  message: string;
}

export interface ChainVerification {
  ok: boolean;
  /** Set for an incremental verification: the rows up to this seq were taken as verified. */
  startedAfter?: number;
  /** Rows whose hash and link were checked (up to the first problem). */
  checked: number;
  /** The last row of the log (0 and the genesis hash when it is empty). */
  headSeq: number;
  headHash: string;
  firstProblem?: ChainProblem;
}

export interface VerifyOptions {
  /**
   * A head verified earlier (kept outside this database: a head file, a compliance report). The
   * log must still reach it with the same hash: a deleted tail, or a chain recomputed from some
   * row on, is found only this way.
   */
  expectHead?: ChainHead;
  /**
   * Verify only the rows after this head, itself verified before (the row must still hold that
   * hash). Fast on a long log, but an edit before it is found only by a full verification: run
   * one regularly.
   */
  startAfter?: ChainHead;
  /** Rows read per query (memory stays bounded on any size of log). */
  pageSize?: number;
}

/**
 * Walks audit_log in seq order, a page at a time, and checks that the seqs have no gap, that
 * every row's hash is SHA-256 of its previous hash and its fields, and that every row names the
 * hash of the row before it. Stops at the first problem and says where.
 */
export async function verifyAuditChain(
  db: Db,
  options: VerifyOptions = {},
): Promise<ChainVerification> {
  const pageSize = options.pageSize ?? 2000;
  const anchor = options.expectHead;
  const start = options.startAfter;
  let expected = 1;
  let prevHash = GENESIS_HASH;
  let checked = 0;
  const result = (firstProblem?: ChainProblem): ChainVerification => ({
    ok: firstProblem === undefined,
    ...(start ? { startedAfter: start.seq } : {}),
    checked,
    headSeq: expected - 1,
    headHash: prevHash,
    ...(firstProblem ? { firstProblem } : {}),
  });

  // Heads the walk will not reach (an incremental start, an anchor at or before it): their rows
  // must still hold the hashes verified before.
  for (const head of [start, anchor]) {
    if (!head || !start || head.seq > start.seq || head.seq === 0) continue;
    const [row] = await db.select().from(auditLog).where(eq(auditLog.seq, head.seq));
    if (!row || row.hash !== head.hash || rowHash(row) !== row.hash)
      return result({
        seq: head.seq,
        kind: row ? 'hash-mismatch' : 'gap',
        message: row
          ? `row ${head.seq} is not the row verified before (its hash was ${head.hash}): the chain was rewritten from here or earlier`
          : `row ${head.seq}, verified before, is missing (deleted)`,
      });
  }
  if (start) {
    expected = start.seq + 1;
    prevHash = start.seq === 0 ? GENESIS_HASH : start.hash;
  }

  for (;;) {
    const rows = await db
      .select()
      .from(auditLog)
      .where(gt(auditLog.seq, expected - 1 > 0 ? expected - 1 : Number.MIN_SAFE_INTEGER))
      .orderBy(asc(auditLog.seq))
      .limit(pageSize);
    for (const row of rows) {
      if (row.seq > expected)
        return result({
          seq: expected,
          kind: 'gap',
          message:
            row.seq === expected + 1
              ? `row ${expected} is missing (deleted): the log goes from ${expected - 1} to ${row.seq}`
              : `rows ${expected} to ${row.seq - 1} are missing (deleted): the log goes from ${expected - 1} to ${row.seq}`,
        });
      if (row.seq < expected)
        return result({
          seq: row.seq,
          kind: 'broken-link',
          message: `row ${row.seq} comes before the first row of the chain (inserted)`,
        });
      if (rowHash(row) !== row.hash)
        return result({
          seq: row.seq,
          kind: 'hash-mismatch',
          message: `row ${row.seq} does not match its hash: it was changed after it was written`,
        });
      if (row.prevHash !== prevHash)
        return result({
          seq: row.seq,
          kind: 'broken-link',
          message:
            row.seq === 1
              ? 'row 1 does not start from the genesis hash: rows were removed from the start or the row replaced'
              : `row ${row.seq} does not link to row ${row.seq - 1}: row ${row.seq - 1} was rewritten with a fresh hash, or row ${row.seq}'s link edited`,
        });
      if (anchor && row.seq === anchor.seq && row.hash !== anchor.hash)
        return result({
          seq: row.seq,
          kind: 'hash-mismatch',
          message: `row ${row.seq} is not the row verified before (its hash was ${anchor.hash}): the chain was rewritten from here or earlier`,
        });
      checked++;
      expected = row.seq + 1;
      prevHash = row.hash;
    }
    if (rows.length < pageSize) break;
  }

  const headSeq = expected - 1;
  if (anchor && anchor.seq > headSeq)
    return result({
      seq: headSeq + 1,
      kind: 'gap',
      message: `the log ends at ${headSeq} but reached ${anchor.seq} when verified before: rows ${headSeq + 1} to ${anchor.seq} were deleted`,
    });
  // The FHIR projection keeps a copy of each row: one beyond the head means the tail was cut.
  const [projected] = await db
    .select({ id: fhirResources.id })
    .from(fhirResources)
    .where(
      and(
        eq(fhirResources.resourceType, 'AuditEvent'),
        eq(fhirResources.id, `audit-${headSeq + 1}`),
      ),
    );
  if (projected)
    return result({
      seq: headSeq + 1,
      kind: 'gap',
      message: `the log ends at ${headSeq} but AuditEvent/audit-${headSeq + 1} was projected from it: rows from ${headSeq + 1} on were deleted`,
    });
  return result();
}

/** `SEQ:HASH` as a head, for the CLI and the HTTP query. */
export function parseHead(text: string): ChainHead | undefined {
  const m = /^(\d{1,15}):([0-9a-f]{64})$/.exec(text.trim());
  return m ? { seq: Number(m[1]), hash: m[2] } : undefined;
}
