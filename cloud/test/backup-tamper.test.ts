import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { codeSchemaLevel } from '../src/backup/catalog.ts';
import {
  BackupFileError,
  type BackupResult,
  backupKeyId,
  createBackup,
  openBackup,
  restoreBackup,
  verifyBackup,
} from '../src/backup/index.ts';
import type { Database } from '../src/db/database.ts';
import { rowsOf } from '../src/db/results.ts';
import { backupRuns } from '../src/db/schema.ts';
import { backupKey, seedBackupData } from './support/backup-fixtures.ts';
import { testDatabaseTargets } from './support/test-database.ts';

/** Where each encrypted message of a backup file starts (its 4-byte length), and the file. */
function frameOffsets(bytes: Buffer): { headerEnd: number; frames: number[] } {
  const headerEnd = 13 + bytes.readUInt32BE(9);
  const frames: number[] = [];
  for (let at = headerEnd + 24; at < bytes.length; at += 4 + bytes.readUInt32BE(at)) {
    frames.push(at);
  }
  return { headerEnd, frames };
}

for (const target of testDatabaseTargets()) {
  const test = suite(`backup tampering (${target.name})`);
  const key = backupKey();
  let dir = '';
  let source: Database;
  let backup: BackupResult;
  let original: Buffer;
  let n = 0;

  /** A copy of the backup changed by `edit`, in the same folder. */
  async function variant(edit: (bytes: Buffer) => Buffer): Promise<string> {
    const file = join(dir, `variant-${n++}.wgbak`);
    await writeFile(file, edit(Buffer.from(original)));
    return file;
  }

  /**
   * `file` is refused with a BackupFileError matching `pattern`: by verifyBackup (a scratch
   * restore), or with `readOnly` by reading every record, which is where the damage is found.
   */
  async function refused(
    file: string,
    pattern: RegExp,
    withKey = key,
    readOnly = false,
  ): Promise<void> {
    try {
      if (readOnly) {
        const reading = await openBackup(file, withKey);
        for await (const _ of reading.records);
      } else await verifyBackup(file, withKey);
      assert.unreachable('a tampered backup verified');
    } catch (error) {
      assert.instance(error, BackupFileError);
      assert.match((error as Error).message, pattern);
    }
  }

  test.before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'wardgate-backup-tamper-'));
    source = await target.open();
    await seedBackupData(source.db, { readings: 3000 });
    // Small messages: many of them, so a cut can fall between two.
    backup = await createBackup(source.db, { dir, key, batchRows: 200 });
    original = await readFile(backup.file);
    assert.ok(frameOffsets(original).frames.length > 10);
  });
  test.after(async () => {
    await source.close();
    await rm(dir, { recursive: true, force: true });
  });

  test('the untouched file verifies', async () => {
    const verified = await verifyBackup(backup.file, key);
    assert.is(verified.rows, backup.rows);
  });

  test('a wrong key is named as such', async () => {
    const other = backupKey();
    await refused(
      backup.file,
      /made with another key \(key id [0-9a-f]{16}; the key given has id/,
      other,
    );
  });

  test('a wrong key with the header edited to its key id fails authentication', async () => {
    const other = backupKey();
    const file = await variant((bytes) => {
      const text = bytes.toString('latin1').replace(backupKeyId(key), backupKeyId(other));
      return Buffer.from(text, 'latin1');
    });
    await refused(file, /does not authenticate/, other);
  });

  test('an edited plaintext header (schema level, time) fails authentication', async () => {
    const file = await variant((bytes) => {
      const level = codeSchemaLevel().migrations;
      const text = bytes
        .toString('latin1')
        .replace(`"migrations":${level}`, `"migrations":${level + 1}`);
      assert.is.not(text, bytes.toString('latin1'));
      return Buffer.from(text, 'latin1');
    });
    await refused(file, /header or first message does not authenticate/);
  });

  test('one flipped bit in any message is found', async () => {
    const { frames } = frameOffsets(original);
    for (const [i, frame] of [
      frames[0],
      frames[Math.floor(frames.length / 2)],
      frames.at(-1)!,
    ].entries()) {
      const file = await variant((bytes) => {
        bytes[frame + 4 + 10] ^= 0x01;
        return bytes;
      });
      await refused(file, /does not authenticate/, key, i !== 1);
    }
    const magic = await variant((bytes) => {
      bytes[0] ^= 0x20;
      return bytes;
    });
    await refused(magic, /is not a wardgate backup/);
  });

  test('truncation anywhere is found: mid-message, between messages, in the header', async () => {
    const { headerEnd, frames } = frameOffsets(original);
    const cuts = [
      frames.at(-1)!, // the final message dropped: every remaining one authenticates
      frames[5], // several messages dropped at a boundary
      frames[5] + 30, // inside a message
      original.length - 1,
      headerEnd + 10, // inside the secretstream header
      headerEnd - 5, // inside the plaintext header
    ];
    for (const [i, cut] of cuts.entries()) {
      const file = await variant((bytes) => bytes.subarray(0, cut));
      await refused(file, /truncated/, key, i !== 0);
    }
  });

  test('data after the final message is refused', async () => {
    const file = await variant((bytes) => Buffer.concat([bytes, Buffer.from([0, 0, 0, 0])]));
    await refused(file, /data after its final message/, key, true);
  });

  test("a failed verify of the run's own file is recorded; verifiedAt stays empty", async () => {
    const { frames } = frameOffsets(original);
    const copy = await variant((bytes) => bytes.subarray(0, frames.at(-1)));
    try {
      await verifyBackup(copy, key, { db: source.db });
      assert.unreachable();
    } catch (error) {
      assert.instance(error, BackupFileError);
    }
    const [untouched] = await source.db.select().from(backupRuns);
    assert.is(untouched.error, null, 'a damaged copy elsewhere does not mark the run');
    await writeFile(backup.file, original.subarray(0, frames.at(-1)));
    try {
      await verifyBackup(backup.file, key, { db: source.db });
      assert.unreachable();
    } catch (error) {
      assert.instance(error, BackupFileError);
    }
    const [run] = await source.db.select().from(backupRuns);
    assert.is(run.id, backup.id);
    assert.is(run.verifiedAt, null);
    assert.match(run.error ?? '', /^verify: .*truncated/);
    await writeFile(backup.file, original);
  });

  test('a restore that meets damage late leaves the target as it was (one transaction)', async () => {
    const { frames } = frameOffsets(original);
    const file = await variant((bytes) => bytes.subarray(0, frames.at(-2)));
    const fresh = await target.open();
    try {
      await restoreBackup(file, key, fresh.db);
      assert.unreachable();
    } catch (error) {
      assert.match((error as Error).message, /truncated/);
    }
    const [count] = rowsOf<{ n: number }>(
      await fresh.db.execute(
        sql`select (select count(*) from readings) + (select count(*) from fhir_resources) + (select count(*) from audit_log) as n`,
      ),
    );
    assert.is(Number(count.n), 0);
    // And the same database takes the intact backup afterwards.
    const restored = await restoreBackup(backup.file, key, fresh.db);
    assert.is(restored.rows, backup.rows);
    await fresh.close();
  });

  test.run();
}
