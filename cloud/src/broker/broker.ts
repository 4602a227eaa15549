import { createServer, type Server } from 'node:net';
import { createServer as createTlsServer } from 'node:tls';
import { downTopic, gatewayDownPattern, parseTopic } from '@wardgate/shared';
import { Aedes, type AuthenticateError, type Client, type PublishPacket } from 'aedes';
import type { GatewayRegistry } from '../gateways/registry.ts';
import { type TlsCredentials, tlsServerOptions } from '../tls/server-tls.ts';

export interface BrokerCounters {
  connectionsAccepted: number;
  connectionsRefused: number;
  publishesRefused: number;
  subscriptionsRefused: number;
}

export interface CloudBroker {
  aedes: Aedes;
  /** The bound port (the real one when 0 was asked for). */
  port: number;
  url: string;
  counters: BrokerCounters;
  connectedClients(): number;
  /** The gateway a connected client logged in as (undefined for none). */
  gatewayOf(client: Client): string | undefined;
  /** In-process publish by the cloud itself (acks, config); resolves once the broker took it. */
  publish(
    topic: string,
    payload: string | Buffer,
    options?: { qos?: 0 | 1; retain?: boolean },
  ): Promise<void>;
  /** Closes every connection of a gateway (after revocation). */
  disconnectGateway(gatewayId: string): Promise<void>;
  close(): Promise<void>;
}

export interface BrokerOptions {
  host: string;
  port: number;
  registry: GatewayRegistry;
  log?: (message: string) => void;
  /** MQTT over TLS (mqtts://) with this certificate; plain TCP when absent. */
  tls?: TlsCredentials;
}

// MQTT 3.1.1 CONNACK return codes.
const IDENTIFIER_REJECTED = 2;
const BAD_USERNAME_OR_PASSWORD = 4;
const NOT_AUTHORIZED = 5;

/**
 * A gateway's MQTT client ids: its gateway id, the edge's `wardgate-edge-{id}`, or either followed
 * by ":" and anything. Exact or ":"-delimited, so gateway "ward" cannot claim "ward-7"'s id.
 */
export function ownsClientId(gatewayId: string, clientId: string): boolean {
  return [gatewayId, `wardgate-edge-${gatewayId}`].some(
    (own) => clientId === own || clientId.startsWith(`${own}:`),
  );
}

function authError(message: string, returnCode: 2 | 4 | 5): AuthenticateError {
  return Object.assign(new Error(message), { returnCode }) as AuthenticateError;
}

/** Topics a gateway may subscribe to: its own down channels, nothing else. */
function allowedSubscriptions(gatewayId: string): Set<string> {
  return new Set([
    downTopic(gatewayId, 'ack'),
    downTopic(gatewayId, 'config'),
    gatewayDownPattern(gatewayId),
  ]);
}

/**
 * The embedded aedes broker: every client logs in as a registered gateway (username = gateway
 * id) and is confined to publishing on its own up topics and subscribing to its own down topics.
 */
export async function startBroker(options: BrokerOptions): Promise<CloudBroker> {
  const { registry } = options;
  const log = options.log ?? (() => {});
  const identities = new WeakMap<Client, string>();
  const counters: BrokerCounters = {
    connectionsAccepted: 0,
    connectionsRefused: 0,
    publishesRefused: 0,
    subscriptionsRefused: 0,
  };

  const aedes = await Aedes.createBroker({
    authenticate(client, username, password, done) {
      const refuse = (message: string, code: 2 | 4 | 5) => {
        counters.connectionsRefused++;
        log(`mqtt: refused ${username ?? '(no username)'}: ${message}`);
        done(authError(message, code), false);
      };
      if (!username || !password)
        return refuse('username and password required', BAD_USERNAME_OR_PASSWORD);
      // A session belongs to one gateway: another gateway reusing its client id would take over
      // its persistent subscriptions (acks, bed config) and kick it off.
      if (!ownsClientId(username, client.id)) {
        return refuse(
          `client id must be "${username}" or start with "${username}:"`,
          IDENTIFIER_REJECTED,
        );
      }
      registry.checkPassword(username, password.toString('utf8')).then(
        (check) => {
          if (check.ok) {
            identities.set(client, username);
            counters.connectionsAccepted++;
            done(null, true);
          } else if (check.reason === 'revoked') refuse('gateway revoked', NOT_AUTHORIZED);
          else refuse('bad username or password', BAD_USERNAME_OR_PASSWORD);
        },
        (error: Error) => refuse(`login check failed: ${error.message}`, BAD_USERNAME_OR_PASSWORD),
      );
    },
    authorizePublish(client, packet, done) {
      if (!client) return done(null); // the cloud's own publishes
      const gatewayId = identities.get(client);
      const parsed = parseTopic(packet.topic);
      if (gatewayId && parsed && parsed.direction === 'up' && parsed.gatewayId === gatewayId) {
        return done(null);
      }
      counters.publishesRefused++;
      log(`mqtt: refused publish by ${gatewayId ?? client.id} on ${packet.topic}`);
      done(new Error(`publishing on ${packet.topic} is not allowed`));
    },
    authorizeSubscribe(client, subscription, done) {
      const gatewayId = identities.get(client);
      if (gatewayId && allowedSubscriptions(gatewayId).has(subscription.topic)) {
        return done(null, subscription);
      }
      counters.subscriptionsRefused++;
      log(`mqtt: refused subscription by ${gatewayId ?? client.id} to ${subscription.topic}`);
      done(null, null); // granted 128: refused, connection kept
    },
  });

  const server: Server = options.tls
    ? createTlsServer(tlsServerOptions(options.tls), aedes.handle)
    : createServer(aedes.handle);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address();
  if (!address || typeof address === 'string')
    throw new Error('the MQTT server has no TCP address');
  const port = address.port;

  return {
    aedes,
    port,
    url: `${options.tls ? 'mqtts' : 'mqtt'}://${options.host.includes(':') ? `[${options.host}]` : options.host}:${port}`,
    counters,
    connectedClients: () => aedes.connectedClients,
    gatewayOf: (client) => identities.get(client),
    publish(topic, payload, { qos = 1, retain = false } = {}) {
      const packet: PublishPacket = {
        cmd: 'publish',
        topic,
        payload: typeof payload === 'string' ? Buffer.from(payload) : payload,
        qos,
        retain,
        dup: false,
      };
      return new Promise((resolve, reject) =>
        aedes.publish(packet, (error) => (error ? reject(error) : resolve())),
      );
    },
    async disconnectGateway(gatewayId) {
      const clients = Object.values(
        (aedes as unknown as { clients: Record<string, Client> }).clients,
      );
      const mine = clients.filter((client) => identities.get(client) === gatewayId);
      await Promise.all(
        mine.map((client) => new Promise<void>((resolve) => client.close(() => resolve()))),
      );
    },
    async close() {
      const serverClosed = new Promise<void>((resolve) => server.close(() => resolve()));
      await new Promise<void>((resolve) => aedes.close(() => resolve()));
      await serverClosed;
    },
  };
}
