import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import Sqlite from 'better-sqlite3';
import { type LoadedConfig, loadConfig } from '../config/load.ts';
import { formatAge, formatTable } from './table.ts';

export const STATUS_USAGE = `  wardgate-edge status --config FILE          cloud link, sync backlog and device states of the running
                                             gateway (or, when it is not running, from its store)`;

export const STORE_FILE_NAME = 'wardgate-edge.sqlite';

/** Readings looked at (newest first, by seq) to find each device's last reading in the store. */
const RECENT_READINGS = 100_000;

interface StreamHealth {
  lastSeq: number;
  ackedUpTo: number;
  ackedAt: number | null;
}

interface DeviceHealth {
  deviceId: string;
  kind: string;
  state: string;
  lastContact: number | null;
  messages: number;
  errors: number;
  /** Absent from gateways older than this CLI. */
  connectAttempts?: number;
  lastError: string | null;
  detail: string;
}

/** The parts of the gateway's GET /health answer this command shows. */
interface Health {
  status: string;
  gateway: string;
  uptimeSeconds: number;
  cloud: { connected: boolean; streams: Record<string, StreamHealth> };
  devices: DeviceHealth[];
}

/** The HTTP address of the gateway: the config's, with EDGE_HTTP_PORT overriding like `run`. */
export function gatewayUrl(loaded: LoadedConfig, env = process.env): string {
  const { host, port: configured } = loaded.config.http;
  let port = configured;
  if (env.EDGE_HTTP_PORT) {
    port = Number(env.EDGE_HTTP_PORT);
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new Error(`EDGE_HTTP_PORT must be a port number, got "${env.EDGE_HTTP_PORT}"`);
  }
  // A gateway bound to every interface is reached over loopback.
  const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
}

/** The running gateway's health, or null when nothing (or not a gateway) answers. */
export async function fetchHealth(baseUrl: string, timeoutMs = 2000): Promise<Health | null> {
  try {
    const response = await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(timeoutMs) });
    if (!response.ok) return null;
    const body = (await response.json()) as Partial<Health>;
    return body.cloud?.streams && Array.isArray(body.devices) ? (body as Health) : null;
  } catch {
    return null;
  }
}

function streamRows(streams: Record<string, StreamHealth>, now: number): string[][] {
  return Object.entries(streams).map(([stream, s]) => [
    stream,
    String(s.lastSeq),
    String(s.ackedUpTo),
    String(s.lastSeq - s.ackedUpTo),
    s.ackedAt === null ? 'never' : `${formatAge(now - s.ackedAt)} ago`,
  ]);
}

const STREAM_HEADERS = ['STREAM', 'LAST SEQ', 'ACKED UP TO', 'BACKLOG', 'LAST ACK'];

export function formatHealth(health: Health, now = Date.now(), width?: number): string {
  const devices = health.devices.map((d) => [
    d.deviceId,
    d.kind,
    d.state,
    d.lastContact === null ? 'never' : `${formatAge(now - d.lastContact)} ago`,
    String(d.messages),
    String(d.errors),
    String(d.connectAttempts ?? ''),
    d.lastError ?? '',
    d.detail,
  ]);
  return [
    `gateway ${health.gateway}: ${health.status}, up ${formatAge(health.uptimeSeconds * 1000)}`,
    `cloud link: ${health.cloud.connected ? 'connected' : 'DISCONNECTED'}`,
    '',
    formatTable(STREAM_HEADERS, streamRows(health.cloud.streams, now), width),
    '',
    devices.length === 0
      ? 'no devices'
      : formatTable(
          [
            'DEVICE',
            'KIND',
            'STATE',
            'LAST CONTACT',
            'MSGS',
            'ERRORS',
            'CONNECTS',
            'LAST ERROR',
            'DETAIL',
          ],
          devices,
          width,
        ),
  ].join('\n');
}

/** What the store says when the gateway is down: sync cursors and each device's last reading. */
export function statusFromStore(loaded: LoadedConfig, now = Date.now(), width?: number): string {
  const file = join(loaded.dataDir, STORE_FILE_NAME);
  if (!existsSync(file)) return `gateway not running; no store at ${file} yet`;
  const db = new Sqlite(file, { readonly: true, fileMustExist: true });
  try {
    const streams: Record<string, StreamHealth> = {};
    for (const row of db
      .prepare('SELECT stream, last_seq, acked_up_to, acked_at FROM streams ORDER BY stream')
      .all() as {
      stream: string;
      last_seq: number;
      acked_up_to: number;
      acked_at: number | null;
    }[])
      streams[row.stream] = {
        lastSeq: row.last_seq,
        ackedUpTo: row.acked_up_to,
        ackedAt: row.acked_at,
      };
    // No device index: look only at the newest readings, a cheap seq range.
    const lastSeq = streams.readings?.lastSeq ?? 0;
    const lastByDevice = new Map(
      (
        db
          .prepare(
            'SELECT device_id, MAX(gateway_time) AS last FROM readings WHERE seq > ? GROUP BY device_id',
          )
          .all(lastSeq - RECENT_READINGS) as { device_id: string; last: number }[]
      ).map((r) => [r.device_id, r.last]),
    );
    const devices = loaded.config.devices.map((d) => {
      const last = lastByDevice.get(d.id);
      return [
        d.id,
        d.kind,
        d.bed,
        last === undefined ? 'none recently' : `${formatAge(now - last)} ago`,
      ];
    });
    return [
      `gateway not running; from the store: ${file}`,
      '',
      formatTable(STREAM_HEADERS, streamRows(streams, now), width),
      '',
      devices.length === 0
        ? 'no devices configured'
        : formatTable(['DEVICE', 'KIND', 'BED', 'LAST READING STORED'], devices, width),
    ].join('\n');
  } finally {
    db.close();
  }
}

/** `wardgate-edge status`; always exits 0 once it could say something. */
export async function statusCommand(argv: string[]): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { config: { type: 'string', short: 'c' } },
  });
  if (!values.config) {
    console.error(`wardgate-edge status: --config FILE is required\n\nusage:\n${STATUS_USAGE}`);
    return 2;
  }
  const loaded = loadConfig(values.config);
  const health = await fetchHealth(gatewayUrl(loaded));
  console.log(health ? formatHealth(health) : statusFromStore(loaded));
  return 0;
}
