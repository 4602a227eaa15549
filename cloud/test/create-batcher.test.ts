// Group commit of creates: concurrent creates share statements, each caller gets its own answer,
// and one bad create in a batch does not fail the others.
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { keyRingOf } from '../src/crypto/db-key-ring.ts';
import { sealResource } from '../src/crypto/fhir-content.ts';
import type { Database, Db } from '../src/db/database.ts';
import { searchStored } from '../src/fhir/search/execute.ts';
import { CreateBatcher, type NewVersion } from '../src/fhir/store/create-batcher.ts';
import { ResourceStore } from '../src/fhir/store/resource-store.ts';
import { testDatabaseTargets } from './support/test-database.ts';

/** A version as the store hands it to the batcher: the content sealed. */
const version = (db: Db, id: string, lastUpdated = Date.now()): NewVersion => ({
  type: 'Practitioner',
  id,
  version: 1,
  lastUpdated,
  deleted: false,
  method: 'create',
  content: sealResource(keyRingOf(db), 'Practitioner', id, 1, {
    resourceType: 'Practitioner',
    id,
    meta: { versionId: '1' },
  }),
  index: { token: [{ param: 'identifier', system: 'urn:x', code: id, text: null }] },
});

for (const target of testDatabaseTargets()) {
  const t = suite(`create batcher (${target.name})`);
  let database: Database;
  t.before(async () => {
    database = await target.open();
  });
  t.after(async () => {
    await database.close();
  });

  t('concurrent creates are all written, a taken id answers false', async () => {
    const batcher = new CreateBatcher(database.db);
    const ids = Array.from({ length: 150 }, (_, i) => `b${i}`);
    const written = await Promise.all(
      [...ids, 'b7'].map((id) => batcher.write(version(database.db, id))),
    );
    assert.equal(
      written.slice(0, 150),
      ids.map(() => true),
    );
    assert.equal(
      written.filter((w) => !w).length,
      1,
      'b7 twice: written once, the other told it was taken',
    );
    const store = new ResourceStore(database.db);
    for (const id of ids)
      assert.equal(
        (await store.read('Practitioner', id))?.resource,
        { resourceType: 'Practitioner', id, meta: { versionId: '1' } },
        id,
      );
    const found = await searchStored(database.db, 'Practitioner', [['identifier', 'urn:x|b42']]);
    assert.equal(
      found.matches.map((r) => r.id),
      ['b42'],
      'indexed',
    );
    const history = await store.history({ type: 'Practitioner', count: 1000, offset: 0 });
    assert.is(history.total, 150, 'one history row each');
  });

  t('a create the database refuses fails alone; the rest of its batch is written', async () => {
    const batcher = new CreateBatcher(database.db);
    const results = await Promise.allSettled([
      batcher.write(version(database.db, 'ok-1')),
      batcher.write(version(database.db, 'bad', 1e30)), // beyond bigint: the whole statement fails
      batcher.write(version(database.db, 'ok-2')),
    ]);
    assert.equal(
      results.map((r) => r.status),
      ['fulfilled', 'rejected', 'fulfilled'],
    );
    const store = new ResourceStore(database.db);
    assert.ok((await store.read('Practitioner', 'ok-1'))?.resource);
    assert.ok((await store.read('Practitioner', 'ok-2'))?.resource);
    assert.is(await store.read('Practitioner', 'bad'), undefined);
  });

  t.run();
}
