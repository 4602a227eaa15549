import { randomUUID } from 'node:crypto';
import { and, count, desc, eq, gte, sql } from 'drizzle-orm';
import { keyRingOf } from '../../crypto/db-key-ring.ts';
import { type ContentRow, openContents, sealResource } from '../../crypto/fhir-content.ts';
import type { KeyRing } from '../../crypto/key-ring.ts';
import { blindIndexRows } from '../../crypto/phi-index.ts';
import type { Db } from '../../db/database.ts';
import { rowsOf } from '../../db/results.ts';
import { fhirHistory, fhirResources } from '../../db/schema.ts';
import { FhirError } from '../operation-outcome.ts';
import { searchStored } from '../search/execute.ts';
import { indexRows } from '../search/extract.ts';
import { createBatcherFor } from './create-batcher.ts';
import type { FhirResource } from './validate.ts';

export type Method = 'create' | 'update' | 'delete';

/** One version of a stored resource; `resource` is null for a deletion. */
export interface StoredVersion {
  resourceType: string;
  id: string;
  versionId: number;
  lastUpdated: number;
  deleted: boolean;
  method: Method;
  resource: FhirResource | null;
}

/** What a read returns of fhir_resources (not the search tokens). */
const CURRENT_COLUMNS = {
  resourceType: fhirResources.resourceType,
  id: fhirResources.id,
  versionId: fhirResources.versionId,
  lastUpdated: fhirResources.lastUpdated,
  deleted: fhirResources.deleted,
  content: fhirResources.content,
};

/**
 * Authorization of one principal over the store (access/request-access.ts): what a read may
 * return (throws when nothing), and whether a write from `before` to `after` is allowed (throws).
 */
export interface StoreGuard {
  readable(version: StoredVersion): StoredVersion;
  writable(type: string, before: FhirResource | null, after: FhirResource | null): void;
}

/**
 * The versioned resource store: every write is a new version in fhir_history, in one transaction.
 * With a guard, every version read and every write is authorized for the guard's principal.
 */
export class ResourceStore {
  private readonly db: Db;
  private readonly guard: StoreGuard | undefined;
  /** Seals what is written and opens what is read (the content columns hold sealed JSON). */
  private readonly ring: KeyRing;

  constructor(db: Db, guard?: StoreGuard) {
    this.db = db;
    this.guard = guard;
    this.ring = keyRingOf(db);
  }

  /** Stores a new resource under a server-assigned id: one statement, atomic by itself. */
  async create(resource: FhirResource): Promise<StoredVersion> {
    this.guard?.writable(resource.resourceType, null, resource);
    const version = stamp(resource, randomUUID(), 1, 'create');
    await writeVersion(this.db, this.ring, version, 'new');
    return version;
  }

  /**
   * Stores `resource` under the id it has, unless that id exists (then undefined): for ids a
   * writer derives from what the resource is about, so writing it twice is harmless.
   */
  async createIfAbsent(
    resource: FhirResource & { id: string },
  ): Promise<StoredVersion | undefined> {
    if (await this.read(resource.resourceType, resource.id)) return undefined;
    const version = stamp(resource, resource.id, 1, 'create');
    const written = await writeVersion(this.db, this.ring, version, 'new').catch((error) => {
      if (isUniqueViolation(error)) return false;
      throw error;
    });
    return written ? version : undefined;
  }

  /**
   * Replaces the resource `type/id` (creating it when the id is new: FHIR update-as-create).
   * `ifMatch` is the version the client last saw (If-Match); another current version is 412.
   */
  async update(
    resource: FhirResource,
    ifMatch?: number,
  ): Promise<{ version: StoredVersion; created: boolean }> {
    const type = resource.resourceType;
    const id = resource.id as string;
    // The guard sees the version being replaced; it must still be current under the row lock.
    const before = this.guard && (await new ResourceStore(this.db).read(type, id));
    if (this.guard)
      this.guard.writable(type, before && !before.deleted ? before.resource : null, resource);
    return this.db.transaction(async (tx) => {
      const current = await lockCurrent(tx as unknown as Db, type, id);
      if (this.guard && current?.versionId !== before?.versionId)
        throw new FhirError(
          409,
          'conflict',
          `${type}/${id} changed while it was being updated; retry`,
        );
      if (ifMatch !== undefined && current?.versionId !== ifMatch) {
        throw new FhirError(
          412,
          'conflict',
          `${type}/${id} is at version ${current?.versionId ?? 'none'}, not ${ifMatch} (If-Match)`,
        );
      }
      const created = !current || current.deleted;
      const version = stamp(
        resource,
        id,
        (current?.versionId ?? 0) + 1,
        created ? 'create' : 'update',
      );
      const concurrent = new FhirError(
        409,
        'conflict',
        `${type}/${id} was created concurrently; retry`,
      );
      const written = await writeVersion(
        tx as unknown as Db,
        this.ring,
        version,
        current ? 'replace' : 'new',
      ).catch((error) => {
        throw isUniqueViolation(error) ? concurrent : error;
      });
      if (!written) throw concurrent;
      return { version, created };
    });
  }

  /** Marks `type/id` deleted as a new version (history keeps the old ones); undefined if unknown. */
  async delete(type: string, id: string): Promise<StoredVersion | undefined> {
    const before = this.guard && (await new ResourceStore(this.db).read(type, id));
    if (this.guard && before?.resource) this.guard.writable(type, before.resource, null);
    else this.guard?.writable(type, null, null);
    return this.db.transaction(async (tx) => {
      const current = await lockCurrent(tx as unknown as Db, type, id);
      if (this.guard && current?.versionId !== before?.versionId)
        throw new FhirError(
          409,
          'conflict',
          `${type}/${id} changed while it was being deleted; retry`,
        );
      if (!current || current.deleted) return undefined;
      const version: StoredVersion = {
        resourceType: type,
        id,
        versionId: current.versionId + 1,
        lastUpdated: Date.now(),
        deleted: true,
        method: 'delete',
        resource: null,
      };
      await writeVersion(tx as unknown as Db, this.ring, version, 'replace');
      return version;
    });
  }

  /** The current version, deletions included (the caller answers 410 for those). */
  async read(type: string, id: string): Promise<StoredVersion | undefined> {
    const [row] = await this.db
      .select(CURRENT_COLUMNS)
      .from(fhirResources)
      .where(and(eq(fhirResources.resourceType, type), eq(fhirResources.id, id)));
    if (!row) return undefined;
    const [version] = await this.fromRows([{ ...row, method: row.deleted ? 'delete' : 'update' }]);
    return this.guarded(version);
  }

  private guarded(version: StoredVersion): StoredVersion {
    return this.guard ? this.guard.readable(version) : version;
  }

  async vread(type: string, id: string, versionId: number): Promise<StoredVersion | undefined> {
    const [row] = await this.db
      .select()
      .from(fhirHistory)
      .where(
        and(
          eq(fhirHistory.resourceType, type),
          eq(fhirHistory.id, id),
          eq(fhirHistory.versionId, versionId),
        ),
      );
    if (!row) return undefined;
    const [version] = await this.fromRows([row]);
    return this.guarded(version);
  }

  /** Versions newest first, of one resource or of a whole type, optionally since a time. */
  async history(options: {
    type: string;
    id?: string;
    since?: number;
    count: number;
    offset: number;
  }): Promise<{ total: number; versions: StoredVersion[] }> {
    const where = and(
      eq(fhirHistory.resourceType, options.type),
      options.id === undefined ? undefined : eq(fhirHistory.id, options.id),
      options.since === undefined ? undefined : gte(fhirHistory.lastUpdated, options.since),
    );
    const [{ total }] = await this.db.select({ total: count() }).from(fhirHistory).where(where);
    const rows = await this.db
      .select()
      .from(fhirHistory)
      .where(where)
      .orderBy(desc(fhirHistory.lastUpdated), desc(fhirHistory.versionId), fhirHistory.id)
      .limit(options.count)
      .offset(options.offset);
    return { total, versions: (await this.fromRows(rows)).map((v) => this.guarded(v)) };
  }

  /**
   * Current, not deleted resources of `type` meeting one search criterion (If-None-Exist:
   * `identifier`, `_id`), found through the search indexes: the stored JSON is sealed.
   */
  async findMatching(
    type: string,
    criterion: [string, string],
    limit: number,
  ): Promise<StoredVersion[]> {
    const { matches } = await searchStored(this.db, type, [
      criterion,
      ['_count', String(limit)],
      ['_total', 'none'],
    ]);
    return matches.map((resource) => this.guarded(currentVersionOf(resource)));
  }

  /** Versions of stored rows, their content opened. */
  private async fromRows(
    rows: (Omit<ContentRow, 'content'> & {
      lastUpdated: number;
      deleted: boolean;
      method: string;
      content: unknown;
    })[],
  ): Promise<StoredVersion[]> {
    const resources = await openContents(this.ring, rows);
    return rows.map((row, i) => ({
      resourceType: row.resourceType,
      id: row.id,
      versionId: row.versionId,
      lastUpdated: row.lastUpdated,
      deleted: row.deleted,
      method: row.method as Method,
      resource: resources[i],
    }));
  }
}

/** The current version a search returned (its meta says which version and when). */
function currentVersionOf(resource: FhirResource): StoredVersion {
  return {
    resourceType: resource.resourceType,
    id: resource.id as string,
    versionId: Number(resource.meta?.versionId),
    lastUpdated: Date.parse(String(resource.meta?.lastUpdated)),
    deleted: false,
    method: 'update',
    resource,
  };
}

/** The resource as stored: the server's id and meta.versionId / meta.lastUpdated, the rest as sent. */
function stamp(
  resource: FhirResource,
  id: string,
  versionId: number,
  method: Method,
): StoredVersion {
  const lastUpdated = Date.now();
  const meta = {
    ...(resource.meta ?? {}),
    versionId: String(versionId),
    lastUpdated: new Date(lastUpdated).toISOString(),
  };
  return {
    resourceType: resource.resourceType,
    id,
    versionId,
    lastUpdated,
    deleted: false,
    method,
    resource: { ...resource, id, meta },
  };
}

/** The current version's number and deletion flag, row-locked until the transaction ends. */
async function lockCurrent(db: Db, type: string, id: string) {
  const [current] = await db
    .select({ versionId: fhirResources.versionId, deleted: fhirResources.deleted })
    .from(fhirResources)
    .where(and(eq(fhirResources.resourceType, type), eq(fhirResources.id, id)))
    .for('update');
  return current;
}

/** PostgreSQL's unique_violation, whether the driver error comes bare or wrapped by drizzle. */
function isUniqueViolation(error: unknown): boolean {
  const e = error as { code?: string; cause?: { code?: string } };
  return e?.code === '23505' || e?.cause?.code === '23505';
}

/**
 * Writes a version in one statement: fhir_write (migration 0009) replaces or inserts the current
 * row, adds the history row and the index rows. False when a `new` row already existed (a
 * concurrent create of the same id) or a replaced one did not.
 */
async function writeVersion(
  db: Db,
  ring: KeyRing,
  v: StoredVersion,
  mode: 'new' | 'replace',
): Promise<boolean> {
  // Only the kinds of index rows the resource has: fhir_write skips the other tables. The values
  // that identify a person are blind indexes (crypto/phi-index.ts).
  const indexes =
    v.resource === null
      ? null
      : Object.fromEntries(
          Object.entries(blindIndexRows(ring, v.resourceType, indexRows(v.resource))).filter(
            ([, r]) => r.length > 0,
          ),
        );
  // One seal for both rows of the version (fhir_resources and fhir_history): a JSON string.
  const sealed =
    v.resource === null ? null : sealResource(ring, v.resourceType, v.id, v.versionId, v.resource);
  const batcher = mode === 'new' ? createBatcherFor(db) : undefined;
  if (batcher && sealed !== null && indexes !== null)
    return batcher.write({
      type: v.resourceType,
      id: v.id,
      version: v.versionId,
      lastUpdated: v.lastUpdated,
      deleted: v.deleted,
      method: v.method,
      content: sealed as string,
      index: indexes,
    });
  const content = sealed === null ? null : JSON.stringify(sealed);
  const index = indexes === null ? null : JSON.stringify(indexes);
  const result = await db.execute(
    sql`select fhir_write(${v.resourceType}, ${v.id}, ${v.versionId}, ${v.lastUpdated}, ${v.deleted},
      ${v.method}, ${content}::jsonb, ${index}::jsonb, ${mode === 'new'}) as written`,
  );
  const rows = rowsOf<{ written: boolean }>(result);
  return rows[0]?.written === true;
}
