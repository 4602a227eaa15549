import { asc, sql } from 'drizzle-orm';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { GENESIS_HASH, rowHash } from '../src/audit/chain-hash.ts';
import { createAuditLog } from '../src/audit/chain-writer.ts';
import { verifyAuditChain } from '../src/audit/verify.ts';
import { type Database, openDatabase } from '../src/db/database.ts';
import { auditLog } from '../src/db/schema.ts';
import { client, readEntry, tamper, user } from './support/audit-entries.ts';
import { testDatabaseTargets } from './support/test-database.ts';

type Row = typeof auditLog.$inferSelect;

const allRows = (database: Database) =>
  database.db.select().from(auditLog).orderBy(asc(auditLog.seq));

/** Puts the log back exactly as it was (the owner's rights again), for the next tampering. */
async function restore(database: Database, rows: Row[]) {
  await tamper(database.db, sql`delete from audit_log`);
  await database.db.execute(sql`alter table audit_log disable trigger user`);
  await database.db.insert(auditLog).values(rows);
  await database.db.execute(sql`alter table audit_log enable trigger user`);
  assert.ok((await verifyAuditChain(database.db)).ok, 'restored');
}

for (const target of testDatabaseTargets()) {
  const t = suite(`audit chain (${target.name})`);
  let database: Database;
  let original: Row[] = [];

  t.before(async () => {
    database = await target.open();
  });
  t.after(async () => {
    await database.close();
  });

  t('an empty log verifies, with the genesis hash as its head', async () => {
    const result = await verifyAuditChain(database.db);
    assert.equal(result, { ok: true, checked: 0, headSeq: 0, headHash: GENESIS_HASH });
  });

  t('many concurrent appends (and appendMany) form one gap-free chain that verifies', async () => {
    const log = createAuditLog(database.db);
    // Appends that need not wait for the disk flush share the chain (and the batches).
    const fast = createAuditLog(database.db, { synchronousCommit: false });
    const doctor = user('u-doc', 'doctor');
    const app = client('c-lab', ['system/Observation.read']);
    await Promise.all([
      ...Array.from({ length: 300 }, (_, i) =>
        (i % 3 ? log : fast).append(readEntry(i % 2 ? doctor : app, `p${i % 37}`)),
      ),
      log.appendMany(Array.from({ length: 20 }, (_, i) => readEntry(doctor, `q${i}`))),
      log.appendMany([]),
    ]);
    original = await allRows(database);
    assert.is(original.length, 320);
    original.forEach((row, i) => {
      assert.is(row.seq, i + 1);
      assert.is(row.prevHash, i === 0 ? GENESIS_HASH : original[i - 1].hash);
      assert.is(row.hash, rowHash(row));
      assert.is((row.event as { id: string }).id, `audit-${row.seq}`);
    });
    // The entries of one appendMany are committed together, in order: seqs in a row.
    const batch = original.filter((r) => r.patientIds[0]?.startsWith('q')).map((r) => r.seq);
    assert.equal(
      batch,
      Array.from({ length: 20 }, (_, i) => batch[0] + i),
    );

    const result = await verifyAuditChain(database.db, { pageSize: 64 });
    assert.equal(result, {
      ok: true,
      checked: 320,
      headSeq: 320,
      headHash: original[319].hash,
    });
  });

  t('a malformed entry is refused alone, before it can fail the batch it would join', async () => {
    const log = createAuditLog(database.db);
    const good = log.append(readEntry(user('u-doc', 'doctor'), 'p1'));
    const bad = log
      .append({ ...readEntry(user('u-doc', 'doctor'), 'p1'), action: 'peek' as 'read' })
      .then(
        () => 'accepted',
        (error: Error) => error.message,
      );
    await good;
    assert.is(await bad, 'audit: unknown audit action peek');
    // A NUL (jsonb cannot store one) is replaced, not a failed batch.
    await log.append({ ...readEntry(user('u-doc', 'doctor'), 'p1'), query: 'name=a\u0000b' });
    original = await allRows(database);
    assert.ok((await verifyAuditChain(database.db)).ok);
  });

  t(
    'the append-only trigger refuses UPDATE, DELETE and TRUNCATE from the application',
    async () => {
      for (const statement of [
        sql`update audit_log set outcome = 'failure' where seq = 3`,
        sql`delete from audit_log where seq = 3`,
        sql`truncate audit_log`,
      ]) {
        try {
          await database.db.execute(statement);
          assert.unreachable('allowed');
        } catch (error) {
          const e = error as { message: string; cause?: { message: string } };
          assert.match(`${e.message} ${e.cause?.message ?? ''}`, 'audit_log is append-only');
        }
      }
      assert.is((await allRows(database)).length, original.length);
    },
  );

  t('an edited row is found at its seq (hash-mismatch)', async () => {
    await tamper(
      database.db,
      sql`update audit_log set event = jsonb_set(event, '{outcome}', '"4"') where seq = 17`,
    );
    const result = await verifyAuditChain(database.db, { pageSize: 10 });
    assert.is(result.ok, false);
    assert.is(result.checked, 16);
    assert.is(result.firstProblem?.seq, 17);
    assert.is(result.firstProblem?.kind, 'hash-mismatch');
    await restore(database, original);

    // A column the reports read is covered as well.
    await tamper(database.db, sql`update audit_log set actor_id = 'someone-else' where seq = 40`);
    assert.equal((await verifyAuditChain(database.db)).firstProblem?.seq, 40);
    await restore(database, original);
  });

  t('an edited row given a fresh hash breaks the link of the next row', async () => {
    const row = original[29];
    const forged = { ...row, patientIds: ['p-other'] };
    forged.hash = rowHash(forged);
    await tamper(
      database.db,
      sql`update audit_log set patient_ids = ${sql.raw("'{p-other}'")}, hash = ${forged.hash} where seq = 30`,
    );
    const result = await verifyAuditChain(database.db);
    assert.equal(result.firstProblem?.seq, 31);
    assert.equal(result.firstProblem?.kind, 'broken-link');
    assert.match(result.firstProblem?.message ?? '', 'row 30 was rewritten');
    await restore(database, original);
  });

  t('a deleted middle row is a gap at its seq', async () => {
    await tamper(database.db, sql`delete from audit_log where seq in (100, 101)`);
    const result = await verifyAuditChain(database.db, { pageSize: 50 });
    assert.equal(result.firstProblem?.seq, 100);
    assert.equal(result.firstProblem?.kind, 'gap');
    assert.match(result.firstProblem?.message ?? '', 'rows 100 to 101 are missing');
    assert.is(result.checked, 99);
    await restore(database, original);

    await tamper(database.db, sql`delete from audit_log where seq = 1`);
    assert.equal((await verifyAuditChain(database.db)).firstProblem?.seq, 1);
    await restore(database, original);
  });

  t('two swapped rows are found at the first of them', async () => {
    await tamper(database.db, sql`update audit_log set seq = -50 where seq = 50`);
    await tamper(database.db, sql`update audit_log set seq = 50 where seq = 51`);
    await tamper(database.db, sql`update audit_log set seq = 51 where seq = -50`);
    const result = await verifyAuditChain(database.db);
    assert.equal(result.firstProblem?.seq, 50);
    assert.equal(result.firstProblem?.kind, 'hash-mismatch');
    await restore(database, original);
  });

  t(
    'a row inserted in the middle (later rows renumbered) is found where the shift starts',
    async () => {
      // The forged row itself is well formed: anyone can compute SHA-256. The renumbered row after it is not.
      await tamper(database.db, sql`update audit_log set seq = seq + 100000 where seq >= 60`);
      await tamper(database.db, sql`update audit_log set seq = seq - 99999 where seq >= 100000`);
      const forged = { ...original[59], seq: 60, prevHash: original[58].hash, actorId: 'u-ghost' };
      forged.hash = rowHash(forged);
      const columns = {
        seq: forged.seq,
        recorded_at: forged.recordedAt,
        actor_id: forged.actorId,
        actor_role: forged.actorRole,
        action: forged.action,
        outcome: forged.outcome,
        patient_ids: forged.patientIds,
        event: forged.event,
        prev_hash: forged.prevHash,
        hash: forged.hash,
      };
      await tamper(
        database.db,
        sql`insert into audit_log select * from jsonb_populate_record(null::audit_log, ${JSON.stringify(columns)}::jsonb)`,
      );
      const result = await verifyAuditChain(database.db);
      assert.equal(result.firstProblem?.seq, 61);
      assert.equal(result.firstProblem?.kind, 'hash-mismatch');
      await restore(database, original);
    },
  );

  t('a deleted tail is found against a head verified before (or the next append)', async () => {
    const before = await verifyAuditChain(database.db);
    const head = { seq: before.headSeq, hash: before.headHash };
    await tamper(database.db, sql`delete from audit_log where seq > ${head.seq - 5}`);

    // On its own the shortened log is a valid chain: that is the limit of an unanchored chain.
    const alone = await verifyAuditChain(database.db);
    assert.equal([alone.ok, alone.headSeq], [true, head.seq - 5]);
    const anchored = await verifyAuditChain(database.db, { expectHead: head });
    assert.equal(anchored.firstProblem?.seq, head.seq - 4);
    assert.equal(anchored.firstProblem?.kind, 'gap');
    assert.match(
      anchored.firstProblem?.message ?? '',
      `rows ${head.seq - 4} to ${head.seq} were deleted`,
    );

    // A running appender remembers the head it wrote: its next record leaves the cut as a gap.
    await createAuditLog(database.db).append(readEntry(user('u-doc', 'doctor'), 'p1'));
    const sealed = await verifyAuditChain(database.db);
    assert.equal(sealed.firstProblem?.seq, head.seq - 4);
    assert.equal(sealed.firstProblem?.kind, 'gap');
    // Back to the whole log, with that record (it links to the real head): the appender goes on from it.
    const appended = (await allRows(database)).at(-1) as Row;
    assert.is(appended.seq, head.seq + 1);
    original = [...original, appended];
    await restore(database, original);

    // The same head from another past verification, with the chain rewritten under it.
    const rewritten = { seq: head.seq, hash: 'f'.repeat(64) };
    const found = await verifyAuditChain(database.db, { expectHead: rewritten });
    assert.equal(found.firstProblem?.seq, head.seq);
    assert.equal(found.firstProblem?.kind, 'hash-mismatch');
  });

  t('incremental: only the rows after a verified head, and that head row itself', async () => {
    const full = await verifyAuditChain(database.db);
    const head = { seq: full.headSeq, hash: full.headHash };
    const log = createAuditLog(database.db);
    await log.appendMany(
      Array.from({ length: 5 }, (_, i) => readEntry(user('u-doc', 'doctor'), `n${i}`)),
    );
    const next = await verifyAuditChain(database.db, { startAfter: head });
    assert.equal(
      [next.ok, next.startedAfter, next.checked, next.headSeq],
      [true, head.seq, 5, head.seq + 5],
    );
    const rows = await allRows(database);

    await tamper(
      database.db,
      sql`update audit_log set outcome = 'denied' where seq = ${head.seq + 2}`,
    );
    const after = await verifyAuditChain(database.db, { startAfter: head });
    assert.equal(
      [after.firstProblem?.seq, after.firstProblem?.kind],
      [head.seq + 2, 'hash-mismatch'],
    );
    await restore(database, rows);

    await tamper(database.db, sql`update audit_log set outcome = 'denied' where seq = ${head.seq}`);
    const at = await verifyAuditChain(database.db, { startAfter: head });
    assert.equal([at.firstProblem?.seq, at.firstProblem?.kind], [head.seq, 'hash-mismatch']);
    await restore(database, rows);

    // The limit: an edit before the head is left to the full verification.
    await tamper(database.db, sql`update audit_log set outcome = 'denied' where seq = 5`);
    assert.is((await verifyAuditChain(database.db, { startAfter: head })).ok, true);
    assert.is((await verifyAuditChain(database.db)).firstProblem?.seq, 5);
    await restore(database, rows);
  });

  t.run();
}

// Several cloud processes on one PostgreSQL: each has its own pool and its own remembered head.
const adminUrl = process.env.TEST_DATABASE_URL;
if (adminUrl) {
  const postgres = testDatabaseTargets().find((d) => d.name === 'postgres');
  const t = suite('audit chain (postgres, several processes)');
  t('writers on separate connections interleave without forking the chain', async () => {
    const first = await (postgres as { open(): Promise<Database> }).open();
    const url = new URL(adminUrl);
    url.pathname = new URL(first.describe).pathname;
    const others = await Promise.all(
      [1, 2].map(() => openDatabase({ databaseUrl: url.toString() })),
    );
    try {
      const logs = [first, ...others].map((d) => createAuditLog(d.db));
      const doctor = user('u-doc', 'doctor');
      for (let round = 0; round < 5; round++)
        await Promise.all(
          logs.flatMap((log, w) =>
            Array.from({ length: 40 }, (_, i) => log.append(readEntry(doctor, `p${w}-${i}`))),
          ),
        );
      const result = await verifyAuditChain(first.db);
      assert.equal([result.ok, result.checked], [true, 600]);
    } finally {
      await Promise.all(others.map((d) => d.close()));
      await first.close();
    }
  });
  t.run();
}
