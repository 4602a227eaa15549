import { randomBytes } from 'node:crypto';
import type { AlarmEvent, Reading } from '@wardgate/shared';
import { connectAsync, type MqttClient } from 'mqtt';

export interface TestGateway {
  client: MqttClient;
  /** Every message received, in order. */
  messages: { topic: string; payload: Buffer; retain: boolean }[];
  /** Payloads received on one topic, JSON-parsed. */
  received<T = unknown>(topic: string): T[];
  /** Resolves when the broker closes the connection. */
  closed: Promise<void>;
}

/** A real mqtt.js client logged in as a gateway; no reconnects, so a refusal stays visible. */
export async function connectGateway(
  url: string,
  gatewayId: string,
  password: string,
  /** `ca`: the PEM CA trusted for an mqtts:// URL. */
  options: { clientId?: string; ca?: string } = {},
): Promise<TestGateway> {
  const client = await connectAsync(url, {
    username: gatewayId,
    password,
    clientId: options.clientId ?? `${gatewayId}:${randomBytes(4).toString('hex')}`,
    reconnectPeriod: 0,
    connectTimeout: 5_000,
    ...(options.ca ? { ca: options.ca } : {}),
  });
  const messages: TestGateway['messages'] = [];
  client.on('message', (topic, payload, packet) =>
    messages.push({ topic, payload, retain: packet.retain }),
  );
  const closed = new Promise<void>((resolve) => client.once('close', () => resolve()));
  return {
    client,
    messages,
    received: <T>(topic: string) =>
      messages.filter((m) => m.topic === topic).map((m) => JSON.parse(m.payload.toString()) as T),
    closed,
  };
}

export function readings(
  firstSeq: number,
  count: number,
  fields: { bedId?: string; deviceTime?: number } = {},
): Reading[] {
  const time = fields.deviceTime ?? 1_700_000_000_000;
  return Array.from({ length: count }, (_, i) => ({
    seq: firstSeq + i,
    deviceId: 'mon-1',
    bedId: fields.bedId ?? 'bed-1',
    parameter: 'MDC_ECG_HEART_RATE',
    value: 60 + (i % 40),
    unit: '/min',
    deviceTime: time + i * 1000,
    gatewayTime: time + i * 1000 + 5,
    quality: 'valid',
  }));
}

export function alarmEvent(
  seq: number,
  fields: { bedId?: string; time?: number } = {},
): AlarmEvent {
  return {
    seq,
    alarmId: `alarm-${seq}`,
    deviceId: 'mon-1',
    bedId: fields.bedId ?? 'bed-1',
    source: 'gateway',
    condition: 'MDC_EVT_HI',
    parameter: 'MDC_ECG_HEART_RATE',
    priority: 'high',
    kind: 'physiological',
    transition: 'raised',
    value: 150,
    limit: 120,
    time: fields.time ?? 1_700_000_000_000,
  };
}
