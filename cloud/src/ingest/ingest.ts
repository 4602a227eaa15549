import {
  type Ack,
  ALL_UP_PATTERN,
  type DecodeResult,
  downTopic,
  type Envelope,
  openEnvelope,
  parseTopic,
  StatusSnapshot,
  type Stream,
  verifyStatus,
} from '@wardgate/shared';
import type { AedesPublishPacket, Client } from 'aedes';
import { and, eq, sql } from 'drizzle-orm';
import type { BedDirectory } from '../beds/assignments.ts';
import type { CloudBroker } from '../broker/broker.ts';
import type { Db } from '../db/database.ts';
import { alarmEvents, gatewayStatus, ingestCursors, ingestRejections } from '../db/schema.ts';
import { writeAlarmFlags } from '../fhir/flag.ts';
import type { GatewayRegistry } from '../gateways/registry.ts';
import { KeyedQueue } from './keyed-queue.ts';
import { alarmRows, insertReadings, readingRows } from './rows.ts';

export interface IngestCounters {
  /** Envelopes committed (new or duplicate). */
  envelopes: number;
  /** Records newly stored. */
  records: number;
  /** Records received again and ignored (already stored). */
  duplicates: number;
  acks: number;
  statuses: number;
  /** Refused messages by reason code (bad-signature, malformed-json, ...). */
  rejections: Record<string, number>;
  /** Messages not processed because of a database error: not acked, so the edge resends. */
  failures: number;
  /** Messages dropped because their gateway's queue was full: not acked, so the edge resends. */
  dropped: number;
}

export interface IngestOptions {
  db: Db;
  broker: CloudBroker;
  registry: GatewayRegistry;
  beds: BedDirectory;
  log?: (message: string) => void;
  /** Bytes of one gateway channel's messages waiting at most; beyond, they are dropped (default 64 MiB). */
  maxPendingBytes?: number;
}

interface Message {
  topic: string;
  gatewayId: string;
  payload: Buffer;
  /** The checked envelope, for messages on the alarms and readings channels. */
  opened?: DecodeResult;
}

interface Rejection {
  code: string;
  message: string;
}

/** Envelopes waiting on one gateway stream are committed together, at most this many at once. */
const ENVELOPES_PER_TRANSACTION = 32;
/** Alarms use one bind parameter per field: 1000 rows stay far below PostgreSQL's 65,535. */
const ALARMS_PER_STATEMENT = 1000;
/** Readings go as twelve array parameters, so only memory bounds a statement. */
const READINGS_PER_STATEMENT = 10_000;

/**
 * Stores what gateways publish under ALL_UP_PATTERN: signed reading and alarm envelopes
 * (idempotently, then acked on down/ack) and signed status snapshots. Messages of one gateway and
 * channel are processed strictly in arrival order — envelopes that queued up meanwhile are
 * committed in one transaction — while different gateways and channels run concurrently.
 */
export class Ingest {
  readonly pattern = ALL_UP_PATTERN;
  readonly counters: IngestCounters = {
    envelopes: 0,
    records: 0,
    duplicates: 0,
    acks: 0,
    statuses: 0,
    rejections: {},
    failures: 0,
    dropped: 0,
  };
  private readonly options: IngestOptions;
  private readonly log: (message: string) => void;
  private readonly queue: KeyedQueue<Message>;
  private readonly onPublish = (packet: AedesPublishPacket, client: Client | null) => {
    // Only what gateways send: the cloud's own publishes (acks, config) come with no client.
    if (client) this.receive(packet.topic, packet.payload);
  };

  constructor(options: IngestOptions) {
    this.options = options;
    this.log = options.log ?? (() => {});
    this.queue = new KeyedQueue<Message>({
      handle: (key, batch) => this.handleBatch(key, batch),
      maxBatch: ENVELOPES_PER_TRANSACTION,
      maxPending: options.maxPendingBytes ?? 64 * 1024 * 1024,
      weigh: (message) => message.payload.length,
    });
  }

  start(): void {
    this.options.broker.aedes.on('publish', this.onPublish);
  }

  /** Stops taking messages and resolves once the ones already received are processed. */
  async stop(): Promise<void> {
    this.options.broker.aedes.off('publish', this.onPublish);
    await this.idle();
  }

  /** Resolves when every received message has been processed. */
  idle(): Promise<void> {
    return this.queue.idle();
  }

  /** Queues one message received on `topic`; ignores topics outside the up channels. */
  receive(topic: string, payload: Buffer | string): void {
    const parsed = parseTopic(topic);
    if (parsed?.direction !== 'up') return;
    const message: Message = {
      topic,
      gatewayId: parsed.gatewayId,
      payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
    };
    // Verified on arrival, not when its batch comes up: the signature checks of the next batch
    // then run while the current one waits for the database, instead of after it.
    if (parsed.channel !== 'status')
      message.opened = openEnvelope(
        message.payload,
        { gatewayId: parsed.gatewayId, stream: parsed.channel },
        (id) => this.options.registry.publicKeyOf(id),
      );
    if (!this.queue.push(`${parsed.gatewayId}/${parsed.channel}`, message)) {
      this.counters.dropped++;
      this.log(`ingest: ${topic}: queue full, message dropped (the gateway resends it)`);
    }
  }

  private async handleBatch(key: string, batch: Message[]): Promise<void> {
    const channel = key.slice(key.indexOf('/') + 1);
    try {
      if (channel === 'status') {
        for (const message of batch) await this.processStatus(message);
      } else {
        await this.processEnvelopes(channel as Stream, batch);
      }
    } catch (error) {
      this.counters.failures += batch.length;
      this.log(
        `ingest: ${key}: ${batch.length} message(s) not processed: ${(error as Error).message}`,
      );
    }
  }

  private async processEnvelopes(stream: Stream, batch: Message[]): Promise<void> {
    const envelopes: Envelope[] = [];
    for (const message of batch) {
      const opened = message.opened as DecodeResult;
      if (opened.ok) envelopes.push(opened.envelope);
      else await this.reject(message, opened.error);
    }
    if (envelopes.length === 0) return;
    const gatewayId = batch[0].gatewayId;
    const ackedUpTo = await this.store(gatewayId, stream, envelopes);
    this.counters.envelopes += envelopes.length;
    // One cumulative ack covers every envelope of the batch, duplicates included.
    const ack: Ack = { stream, upTo: ackedUpTo, time: Date.now() };
    await this.options.broker.publish(downTopic(gatewayId, 'ack'), JSON.stringify(ack), { qos: 1 });
    this.counters.acks++;
  }

  /**
   * Inserts the envelopes' records (a seq already stored is skipped) and advances the stream's
   * cursor, in one transaction; returns the cursor.
   */
  private async store(gatewayId: string, stream: Stream, envelopes: Envelope[]): Promise<number> {
    const { db, beds } = this.options;
    const patientAt = await beds.resolverFor(gatewayId);
    const receivedAt = Date.now();
    const total = envelopes.reduce((sum, envelope) => sum + envelope.records.length, 0);
    const { inserted, ackedUpTo } = await db.transaction(async (tx) => {
      let inserted = 0;
      if (stream === 'readings') {
        const rows = envelopes.flatMap((e) =>
          e.stream === 'readings' ? readingRows(e, patientAt, receivedAt) : [],
        );
        for (let i = 0; i < rows.length; i += READINGS_PER_STATEMENT) {
          inserted += await insertReadings(tx, rows.slice(i, i + READINGS_PER_STATEMENT));
        }
      } else {
        const rows = envelopes.flatMap((e) =>
          e.stream === 'alarms' ? alarmRows(e, patientAt, receivedAt) : [],
        );
        const changed = new Set<string>();
        for (let i = 0; i < rows.length; i += ALARMS_PER_STATEMENT) {
          const stored = await tx
            .insert(alarmEvents)
            .values(rows.slice(i, i + ALARMS_PER_STATEMENT))
            .onConflictDoNothing({ target: [alarmEvents.gatewayId, alarmEvents.seq] })
            .returning({ alarmId: alarmEvents.alarmId });
          inserted += stored.length;
          for (const { alarmId } of stored) changed.add(alarmId);
        }
        // The FHIR Flags of the alarms move with their transitions, in the same transaction.
        await writeAlarmFlags(
          tx as unknown as Db,
          [...changed].map((alarmId) => ({ gatewayId, alarmId })),
        );
      }
      const cursorOf = and(
        eq(ingestCursors.gatewayId, gatewayId),
        eq(ingestCursors.stream, stream),
      );
      const [current] = await tx
        .select({ ackedUpTo: ingestCursors.ackedUpTo })
        .from(ingestCursors)
        .where(cursorOf)
        .for('update');
      // The edge sends in order and resends from its last ack: the cursor moves only over an
      // envelope that joins what is contiguous from seq 1, so it never skips a lost envelope.
      let acked = current ? Number(current.ackedUpTo) : 0;
      for (const envelope of envelopes) {
        if (envelope.firstSeq <= acked + 1) acked = Math.max(acked, envelope.lastSeq);
      }
      await tx
        .insert(ingestCursors)
        .values({ gatewayId, stream, ackedUpTo: acked })
        .onConflictDoUpdate({
          target: [ingestCursors.gatewayId, ingestCursors.stream],
          set: { ackedUpTo: sql`GREATEST(${ingestCursors.ackedUpTo}, ${acked}::bigint)` },
        });
      return { inserted, ackedUpTo: acked };
    });
    this.counters.records += inserted;
    this.counters.duplicates += total - inserted;
    return ackedUpTo;
  }

  private async processStatus(message: Message): Promise<void> {
    const { gatewayId } = message;
    let json: unknown;
    try {
      json = JSON.parse(message.payload.toString('utf8'));
    } catch (error) {
      return this.reject(message, { code: 'malformed-json', message: (error as Error).message });
    }
    const parsed = StatusSnapshot.safeParse(json);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      return this.reject(message, {
        code: 'invalid-status',
        message: `${issue?.path.join('.') || '(root)'}: ${issue?.message}`,
      });
    }
    const snapshot = parsed.data;
    if (snapshot.gatewayId !== gatewayId) {
      return this.reject(message, {
        code: 'topic-mismatch',
        message: `status says ${snapshot.gatewayId}, topic is ${gatewayId}`,
      });
    }
    const publicKey = this.options.registry.publicKeyOf(gatewayId);
    if (!publicKey) {
      return this.reject(message, {
        code: 'unknown-gateway',
        message: `no key registered for ${gatewayId}`,
      });
    }
    // Verify the JSON as received: the parsed copy could lack fields the gateway signed.
    if (!verifyStatus(json, publicKey)) {
      return this.reject(message, { code: 'bad-signature', message: 'signature does not verify' });
    }
    const row = { gatewayId, online: snapshot.online, snapshot: json, receivedAt: Date.now() };
    await this.options.db
      .insert(gatewayStatus)
      .values(row)
      .onConflictDoUpdate({
        target: gatewayStatus.gatewayId,
        set: { online: row.online, snapshot: row.snapshot, receivedAt: row.receivedAt },
      });
    this.counters.statuses++;
  }

  private async reject(received: Message, rejection: Rejection): Promise<void> {
    const { code, message } = rejection;
    this.counters.rejections[code] = (this.counters.rejections[code] ?? 0) + 1;
    this.log(`ingest: rejected ${received.topic}: ${code}: ${message}`);
    await this.options.db.insert(ingestRejections).values({
      gatewayId: received.gatewayId,
      topic: received.topic,
      code,
      message: message.slice(0, 2000),
      receivedAt: Date.now(),
    });
  }
}
