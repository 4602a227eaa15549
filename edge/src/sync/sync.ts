import { EventEmitter } from 'node:events';
import {
  Ack,
  type DeviceStatus,
  downTopic,
  encodeEnvelope,
  GatewayConfigDown,
  STREAMS_IN_PRIORITY,
  type Stream,
  sealEnvelope,
  sealStatus,
  upTopic,
} from '@wardgate/shared';
import mqtt, { type MqttClient } from 'mqtt';
import type { EdgeStore } from '../store/store.ts';

export interface SyncOptions {
  gatewayId: string;
  mqttUrl: string;
  username: string;
  password: string;
  secretKey: string;
  /** PEM CA certificate(s) trusted for mqtts:// instead of the system's (a local CA). */
  ca?: string;
  /** Records per envelope on each stream. */
  batchSize: { alarms: number; readings: number };
  /** How long readings may wait to fill an envelope; alarms never wait. */
  readingsWindowMs: number;
  /** Envelopes in flight (sent, not acked) per stream. */
  maxInFlight?: number;
  /** No ack progress for this long while records are in flight → resend from the last ack. */
  ackTimeoutMs?: number;
  reconnectPeriodMs?: number;
  devices: () => DeviceStatus[];
}

type SyncEvents = {
  config: [config: GatewayConfigDown];
  acked: [stream: Stream, upTo: number];
  link: [connected: boolean];
  error: [error: Error];
};

export interface SyncStats {
  connected: boolean;
  lastConnectedAt: number | null;
  lastDisconnectError: string | null;
  clockSkewMs: number | null;
  envelopesSent: number;
  resends: number;
  badDownMessages: number;
  streams: Record<
    Stream,
    {
      lastSeq: number;
      ackedUpTo: number;
      ackedAt: number | null;
      sentUpTo: number;
      backlog: number;
    }
  >;
}

/**
 * Drains the store's outbox to the cloud over MQTT (QoS 1, persistent session). Per stream,
 * envelopes go out in seq order; alarms are always served before readings. Nothing is deleted
 * here: the store only learns "acked up to N" from the cloud's ack, and on reconnect or ack
 * timeout everything after the last ack is sent again (the cloud deduplicates on seq).
 */
export class CloudSync extends EventEmitter<SyncEvents> {
  private client: MqttClient | null = null;
  private readonly sentUpTo: Record<Stream, number>;
  private readonly lastProgress: Record<Stream, number> = { alarms: 0, readings: 0 };
  private readingsTimer: NodeJS.Timeout | null = null;
  private watchdog: NodeJS.Timeout | null = null;
  private statusTimer: NodeJS.Timeout | null = null;
  private pumping = false;
  private pumpAgain = false;
  private stopped = false;
  private readonly opts: Required<Omit<SyncOptions, 'ca'>> & Pick<SyncOptions, 'ca'>;
  private readonly store: EdgeStore;
  private readonly onAppended = (stream: Stream) => this.schedule(stream);
  stats = {
    envelopesSent: 0,
    resends: 0,
    badDownMessages: 0,
    lastConnectedAt: null as number | null,
    lastDisconnectError: null as string | null,
    /** Gateway clock minus the cloud's, from the last ack (latency included), when known. */
    clockSkewMs: null as number | null,
  };

  constructor(store: EdgeStore, options: SyncOptions) {
    super();
    this.store = store;
    this.opts = { maxInFlight: 64, ackTimeoutMs: 15_000, reconnectPeriodMs: 1000, ...options };
    this.sentUpTo = {
      alarms: store.cursor('alarms').ackedUpTo,
      readings: store.cursor('readings').ackedUpTo,
    };
  }

  get connected(): boolean {
    return this.client?.connected ?? false;
  }

  start(): void {
    const { gatewayId } = this.opts;
    const offline = sealStatus(
      { gatewayId, online: false, time: Date.now(), devices: [] },
      this.opts.secretKey,
    );
    const client = mqtt.connect(this.opts.mqttUrl, {
      clientId: `wardgate-edge-${gatewayId}`,
      clean: false,
      username: this.opts.username,
      password: this.opts.password,
      reconnectPeriod: this.opts.reconnectPeriodMs,
      connectTimeout: 10_000,
      // Else mqtt-packet pre-allocates 65,536 two-byte Buffers (~8 MB of heap) for packet ids.
      writeCache: false,
      ...(this.opts.ca ? { ca: this.opts.ca, rejectUnauthorized: true } : {}),
      will: {
        topic: upTopic(gatewayId, 'status'),
        payload: Buffer.from(JSON.stringify(offline)),
        qos: 1,
        retain: true,
      },
    });
    this.client = client;
    client.on('connect', () => {
      this.stats.lastConnectedAt = Date.now();
      // Anything sent before the link dropped may be lost: start again from the last ack.
      for (const stream of STREAMS_IN_PRIORITY) this.rewind(stream);
      client.subscribe(
        [downTopic(gatewayId, 'ack'), downTopic(gatewayId, 'config')],
        { qos: 1 },
        (error) => {
          if (error) this.emit('error', new Error(`subscribe refused: ${error.message}`));
        },
      );
      this.publishStatus();
      this.emit('link', true);
      this.pump();
    });
    client.on('close', () => this.emit('link', false));
    client.on('error', (error) => {
      this.stats.lastDisconnectError = error.message;
      this.emit('error', error);
    });
    client.on('message', (topic, payload) => this.onDownMessage(topic, payload));
    this.store.on('appended', this.onAppended);
    this.watchdog = setInterval(
      () => this.checkAckProgress(),
      Math.min(1000, this.opts.ackTimeoutMs),
    );
  }

  /** Publishes the retained status snapshot now (debounced when called often). */
  statusChanged(): void {
    this.statusTimer ??= setTimeout(() => {
      this.statusTimer = null;
      this.publishStatus();
    }, 250);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.store.off('appended', this.onAppended);
    for (const timer of [this.readingsTimer, this.statusTimer]) if (timer) clearTimeout(timer);
    if (this.watchdog) clearInterval(this.watchdog);
    const client = this.client;
    this.client = null;
    if (client) await client.endAsync();
  }

  syncStats(): SyncStats {
    const streams = {} as SyncStats['streams'];
    for (const stream of STREAMS_IN_PRIORITY) {
      const cursor = this.store.cursor(stream);
      streams[stream] = {
        ...cursor,
        sentUpTo: this.sentUpTo[stream],
        backlog: cursor.lastSeq - cursor.ackedUpTo,
      };
    }
    return { connected: this.connected, ...this.stats, streams };
  }

  private schedule(stream: Stream): void {
    const waiting = this.store.cursor('readings').lastSeq - this.sentUpTo.readings;
    if (stream === 'alarms' || waiting >= this.opts.batchSize.readings) {
      this.pump();
      return;
    }
    this.readingsTimer ??= setTimeout(() => {
      this.readingsTimer = null;
      this.pump();
    }, this.opts.readingsWindowMs);
  }

  private rewind(stream: Stream): void {
    const acked = this.store.cursor(stream).ackedUpTo;
    if (this.sentUpTo[stream] > acked) this.stats.resends++;
    this.sentUpTo[stream] = acked;
    this.lastProgress[stream] = Date.now();
  }

  /** Sends what the window allows: all the alarms first, then readings. */
  private pump(): void {
    if (this.pumping) {
      this.pumpAgain = true;
      return;
    }
    this.pumping = true;
    try {
      do {
        this.pumpAgain = false;
        for (const stream of STREAMS_IN_PRIORITY) this.drain(stream);
      } while (this.pumpAgain);
    } finally {
      this.pumping = false;
    }
  }

  private drain(stream: Stream): void {
    const client = this.client;
    if (!client?.connected || this.stopped) return;
    const size = this.opts.batchSize[stream];
    const window = this.opts.maxInFlight * size;
    for (;;) {
      const cursor = this.store.cursor(stream);
      if (this.sentUpTo[stream] >= cursor.lastSeq) return;
      if (this.sentUpTo[stream] - cursor.ackedUpTo >= window) return;
      const records = this.store.pending(stream, this.sentUpTo[stream], size);
      if (records.length === 0) return;
      const envelope = sealEnvelope(this.opts.gatewayId, stream, records, this.opts.secretKey);
      client.publish(upTopic(this.opts.gatewayId, stream), encodeEnvelope(envelope), { qos: 1 });
      this.sentUpTo[stream] = envelope.lastSeq;
      this.stats.envelopesSent++;
      // Alarms never wait for other alarms; readings stop at the window and a partial batch
      // waits for the readings window unless more than a batch is queued.
      if (stream === 'readings' && records.length < size && cursor.lastSeq === envelope.lastSeq)
        return;
    }
  }

  private checkAckProgress(): void {
    if (!this.client?.connected) return;
    for (const stream of STREAMS_IN_PRIORITY) {
      const cursor = this.store.cursor(stream);
      const inFlight = this.sentUpTo[stream] > cursor.ackedUpTo;
      if (inFlight && Date.now() - this.lastProgress[stream] > this.opts.ackTimeoutMs) {
        this.rewind(stream);
        this.pump();
      }
    }
  }

  private onDownMessage(topic: string, payload: Buffer): void {
    const { gatewayId } = this.opts;
    try {
      const json = JSON.parse(payload.toString());
      if (topic === downTopic(gatewayId, 'ack')) {
        const ack = Ack.parse(json);
        if (ack.time !== undefined) this.stats.clockSkewMs = Date.now() - ack.time;
        if (this.store.ack(ack.stream, ack.upTo)) {
          this.lastProgress[ack.stream] = Date.now();
          this.emit('acked', ack.stream, ack.upTo);
          this.pump();
        }
      } else if (topic === downTopic(gatewayId, 'config')) {
        this.emit('config', GatewayConfigDown.parse(json));
      }
    } catch (error) {
      this.stats.badDownMessages++;
      this.emit('error', new Error(`bad message on ${topic}: ${(error as Error).message}`));
    }
  }

  private publishStatus(): void {
    const client = this.client;
    if (!client?.connected) return;
    const snapshot = sealStatus(
      {
        gatewayId: this.opts.gatewayId,
        online: true,
        time: Date.now(),
        devices: this.opts.devices(),
      },
      this.opts.secretKey,
    );
    client.publish(upTopic(this.opts.gatewayId, 'status'), JSON.stringify(snapshot), {
      qos: 1,
      retain: true,
    });
  }
}
