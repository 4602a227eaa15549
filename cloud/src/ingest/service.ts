import {
  type AssignBedInput,
  assignBed,
  type BedAssignmentRow,
  BedDirectory,
  publishGatewayConfig,
} from '../beds/assignments.ts';
import { type CloudBroker, startBroker } from '../broker/broker.ts';
import { errorForLog } from '../crypto/log-redaction.ts';
import type { Db } from '../db/database.ts';
import { type GatewayInfo, GatewayRegistry, type NewGateway } from '../gateways/registry.ts';
import type { TlsCredentials } from '../tls/server-tls.ts';
import { Ingest } from './ingest.ts';

export interface MqttSide {
  registry: GatewayRegistry;
  broker: CloudBroker;
  beds: BedDirectory;
  ingest: Ingest;
  addGateway(gateway: NewGateway): Promise<GatewayInfo>;
  /** Revokes the gateway and closes its open connections. */
  revokeGateway(id: string): Promise<GatewayInfo>;
  /** Assigns the bed, refreshes the ingest's view of it and republishes the gateway's config. */
  assignBed(input: AssignBedInput): Promise<BedAssignmentRow>;
  /** After beds changed elsewhere (ADT): refreshes the ingest's view and republishes the config. */
  bedsChanged(gatewayId: string): Promise<void>;
  /** Stops ingest (after finishing what it received), then the broker and its clients. */
  stop(): Promise<void>;
}

/**
 * The cloud's MQTT side on an open database: gateway registry, embedded broker, bed directory
 * and ingest; publishes every known gateway's retained config before it returns.
 */
export async function startMqttSide(options: {
  db: Db;
  host: string;
  port: number;
  log?: (message: string) => void;
  /** MQTT over TLS with this certificate (mqtts://). */
  tls?: TlsCredentials;
}): Promise<MqttSide> {
  const { db, log } = options;
  const registry = new GatewayRegistry(db);
  await registry.load();
  const broker = await startBroker({
    host: options.host,
    port: options.port,
    registry,
    log,
    tls: options.tls,
  });
  const beds = new BedDirectory(db);
  const ingest = new Ingest({ db, broker, registry, beds, log });
  ingest.start();

  // Every gateway finds its retained config on subscribe: published at start for the known ones,
  // and on first login for a gateway enrolled since (by the CLI or another replica).
  const configured = new Set<string>();
  const publishConfig = async (gatewayId: string) => {
    await publishGatewayConfig(broker, db, gatewayId);
    configured.add(gatewayId);
  };
  broker.aedes.on('clientReady', (client) => {
    const gatewayId = broker.gatewayOf(client);
    if (!gatewayId || configured.has(gatewayId)) return;
    publishConfig(gatewayId).catch((error: Error) =>
      log?.(`config for ${gatewayId} not published: ${errorForLog(error)}`),
    );
  });
  try {
    for (const gatewayId of registry.activeGatewayIds()) await publishConfig(gatewayId);
  } catch (error) {
    await ingest.stop();
    await broker.close();
    throw error;
  }

  const bedsChanged = async (gatewayId: string) => {
    beds.invalidate(gatewayId);
    await publishGatewayConfig(broker, db, gatewayId);
  };

  return {
    registry,
    broker,
    beds,
    ingest,
    async addGateway(gateway) {
      const added = await registry.add(gateway);
      await publishConfig(added.id);
      return added;
    },
    async revokeGateway(id) {
      const revoked = await registry.revoke(id);
      await broker.disconnectGateway(id);
      return revoked;
    },
    async assignBed(input) {
      const row = await assignBed(db, input);
      await bedsChanged(input.gatewayId);
      return row;
    },
    bedsChanged,
    async stop() {
      await ingest.stop();
      await broker.close();
    },
  };
}
