import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { Hono } from 'hono';
import type { Gateway } from '../runtime/gateway.ts';
import { uiApp } from '../ui/routes.ts';

/** The gateway's own HTTP surface: health for monitoring, metrics for scraping. */
export function gatewayApp(gateway: Gateway): Hono {
  const app = new Hono();
  app.get('/health', (c) => c.json(health(gateway)));
  app.get('/metrics', (c) =>
    c.text(metrics(gateway), 200, { 'content-type': 'text/plain; version=0.0.4' }),
  );
  app.route('/', uiApp(gateway));
  return app;
}

export function health(gateway: Gateway) {
  const sync = gateway.sync.syncStats();
  const devices = gateway.deviceStats();
  const offline = devices.filter((d) => d.state !== 'online').map((d) => d.deviceId);
  return {
    status: sync.connected && offline.length === 0 ? 'ok' : 'degraded',
    gateway: gateway.gatewayId,
    time: Date.now(),
    uptimeSeconds: Math.round((Date.now() - gateway.startedAt) / 1000),
    cloud: sync,
    store: {
      file: gateway.store.file,
      readingsCommitted: gateway.writer.committed,
      readingsHeld: gateway.writer.heldCount,
      writeFailures: gateway.writer.failures,
      readingsRefused: gateway.writer.refused,
    },
    offlineDevices: offline,
    devices,
    frameErrors: Object.fromEntries(gateway.frameErrors),
  };
}

/** Prometheus text exposition format. */
export function metrics(gateway: Gateway): string {
  const sync = gateway.sync.syncStats();
  const lines: string[] = [];
  const metric = (
    name: string,
    help: string,
    type: 'gauge' | 'counter',
    samples: [string, number][],
  ) => {
    lines.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, value] of samples) lines.push(`${name}${labels} ${value}`);
  };
  const label = (pairs: Record<string, string>) =>
    `{${Object.entries(pairs)
      .map(([k, v]) => `${k}="${v.replace(/["\\\n]/g, '_')}"`)
      .join(',')}}`;
  metric('wardgate_cloud_connected', 'MQTT link to the cloud is up', 'gauge', [
    ['', sync.connected ? 1 : 0],
  ]);
  const streams = Object.entries(sync.streams);
  metric(
    'wardgate_stream_last_seq',
    'Last seq stored per stream',
    'counter',
    streams.map(([s, v]) => [label({ stream: s }), v.lastSeq]),
  );
  metric(
    'wardgate_stream_acked_seq',
    'Highest seq acked by the cloud',
    'counter',
    streams.map(([s, v]) => [label({ stream: s }), v.ackedUpTo]),
  );
  metric(
    'wardgate_stream_backlog',
    'Records stored but not acked',
    'gauge',
    streams.map(([s, v]) => [label({ stream: s }), v.backlog]),
  );
  metric('wardgate_envelopes_sent_total', 'Envelopes published', 'counter', [
    ['', sync.envelopesSent],
  ]);
  metric('wardgate_readings_committed_total', 'Readings committed to SQLite', 'counter', [
    ['', gateway.writer.committed],
  ]);
  metric('wardgate_store_write_failures_total', 'Failed SQLite commits (retried)', 'counter', [
    ['', gateway.writer.failures],
  ]);
  const devices = gateway.deviceStats();
  metric(
    'wardgate_device_online',
    'Device link state (1 online)',
    'gauge',
    devices.map((d) => [label({ device: d.deviceId, kind: d.kind }), d.state === 'online' ? 1 : 0]),
  );
  metric(
    'wardgate_device_messages_total',
    'Messages or polls received per device',
    'counter',
    devices.map((d) => [label({ device: d.deviceId }), d.messages]),
  );
  metric(
    'wardgate_device_errors_total',
    'Malformed frames and protocol errors per device',
    'counter',
    devices.map((d) => [label({ device: d.deviceId }), d.errors]),
  );
  metric(
    'wardgate_device_connect_attempts_total',
    'Connections tried to a polled device, or opened by a device that dials in',
    'counter',
    devices.map((d) => [label({ device: d.deviceId }), d.connectAttempts]),
  );
  return `${lines.join('\n')}\n`;
}

export interface RunningHttp {
  port: number;
  close(): Promise<void>;
}

export function serveGateway(gateway: Gateway, host: string, port: number): Promise<RunningHttp> {
  return new Promise((resolve, reject) => {
    const server = serve({ fetch: gatewayApp(gateway).fetch, hostname: host, port }, (info) =>
      resolve({
        port: (info as AddressInfo).port,
        // Live pages hold /api/live open: close those connections too, or close() never ends.
        close: () =>
          new Promise((done) => {
            server.close(() => done());
            if ('closeAllConnections' in server) server.closeAllConnections();
          }),
      }),
    );
    server.once('error', reject);
  });
}
