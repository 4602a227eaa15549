import type { IncomingMessage, Server } from 'node:http';
import type { Duplex } from 'node:stream';
import { type WebSocket, WebSocketServer } from 'ws';
import type { AuditLog } from '../../audit/audit-entry.ts';
import type { RequestSource, UserPrincipal } from '../../auth/principal.ts';
import { errorForLog } from '../../crypto/log-redaction.ts';
import type { Db } from '../../db/database.ts';
import { loadVisit } from '../appointments/visit.ts';
import type { TelehealthOptions } from '../options.ts';
import { joinRefusal } from './join-window.ts';
import { type VideoSettings, videoSettings } from './options.ts';
import { type Peer, Room } from './room.ts';
import { redeemRoomToken } from './room-token.ts';

/** Where browsers open the signaling socket: `?token=` a room token from …/video/token. */
export const SIGNALING_PATH = '/api/telehealth/signal';

/** Largest signaling message (an SDP with many candidates fits easily). */
const MAX_MESSAGE_BYTES = 64 * 1024;
/** A socket that has not answered a ping for this long is dropped (and leaves its room). */
const HEARTBEAT_MS = 30_000;

export interface VideoSignalingOptions extends TelehealthOptions {
  /** Where joins, admissions, chat, consent, recording and ends are audited. */
  audit: AuditLog;
}

export interface VideoSignaling {
  /** Disconnects everyone, waits for their rooms' records to be written, detaches. */
  close(): Promise<void>;
}

/**
 * The signaling server of the video visits, on the cloud's HTTP server: a participant connects
 * with a room token; the patient waits until the host admits them; then the two browsers
 * exchange SDP offers, answers and ICE candidates through it and talk peer to peer. Audio and
 * video never pass through the cloud — only these small messages and the chat do.
 */
export function attachVideoSignaling(
  server: Server,
  db: Db,
  options: VideoSignalingOptions,
): VideoSignaling {
  const settings = videoSettings(options.video);
  const now = options.now ?? Date.now;
  const log = options.log ?? (() => {});
  const wss = new WebSocketServer({ noServer: true, maxPayload: MAX_MESSAGE_BYTES });
  const rooms = new Map<string, Room>();
  const alive = new WeakSet<WebSocket>();
  /** Departures still being recorded (their room may already be gone from `rooms`). */
  const pending = new Set<Promise<void>>();

  const onUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(request.url ?? '/', 'http://cloud');
    if (url.pathname !== SIGNALING_PATH) {
      // Nobody else listens for upgrades: answer rather than leave the socket hanging.
      if (server.listenerCount('upgrade') === 1) refuse(socket, 404, 'not_found', 'No such socket');
      return;
    }
    accept(request, socket, head, url).catch((error) => {
      log(`video: a signaling connection failed: ${errorForLog(error)}`);
      refuse(socket, 500, 'internal_error', 'Internal server error');
    });
  };

  async function accept(request: IncomingMessage, socket: Duplex, head: Buffer, url: URL) {
    const source = sourceOf(request);
    const deny = (detail: string) =>
      options.audit.append({
        action: 'denied',
        outcome: 'denied',
        actor: { kind: 'anonymous' },
        patientIds: [],
        entity: 'telehealth/video-room',
        detail,
        source,
        at: now(),
      });
    if (!originAllowed(request, settings)) {
      await deny('signaling socket opened from a foreign origin');
      refuse(socket, 403, 'origin_not_allowed', 'This origin may not open the visit socket');
      return;
    }
    const redeemed = redeemRoomToken(db, url.searchParams.get('token') ?? '', now());
    if ('problem' in redeemed) {
      await deny(`room token ${redeemed.problem}`);
      refuse(socket, 401, 'bad_room_token', `The room token is ${redeemed.problem}`);
      return;
    }
    const { claims } = redeemed;
    const visit = await loadVisit(db, claims.appointmentId);
    const refusal = visit
      ? joinRefusal(visit, now(), settings)
      : { code: 'not_found', message: 'No such appointment' };
    if (refusal) {
      await options.audit.append({
        action: 'read',
        outcome: 'failure',
        actor: peerActor(claims),
        patientIds: [claims.patientId],
        entity: `Appointment/${claims.appointmentId}/video-room`,
        detail: refusal.code,
        source,
        at: now(),
      });
      refuse(socket, 409, refusal.code, refusal.message);
      return;
    }
    wss.handleUpgrade(request, socket, head, (ws) => {
      alive.add(ws);
      ws.on('pong', () => alive.add(ws));
      let room = rooms.get(claims.appointmentId);
      if (!room) {
        room = new Room(db, claims.appointmentId, claims.patientId, {
          now,
          log,
          audit: options.audit,
        });
        rooms.set(claims.appointmentId, room);
      }
      const joined = room;
      // Counted now, not when the join is handled: a room is dropped only when no socket is
      // left in it, so two participants never end up in two rooms of the same appointment.
      joined.connections += 1;
      const peer: Peer = { ws, claims, actor: peerActor(claims), source };
      joined.join(peer);
      ws.on('message', (data, isBinary) => {
        if (isBinary) return joined.tell(peer, errorMessage('bad_message', 'Send JSON text'));
        joined.receive(peer, data.toString());
      });
      ws.on('close', () => {
        joined.connections -= 1;
        if (joined.connections === 0 && rooms.get(joined.appointmentId) === joined)
          rooms.delete(joined.appointmentId);
        const leaving = joined.leave(peer);
        pending.add(leaving);
        leaving.finally(() => pending.delete(leaving));
      });
      ws.on('error', (error) => log(`video: socket error: ${errorForLog(error)}`));
    });
  }

  const heartbeat = setInterval(() => {
    for (const ws of wss.clients) {
      if (!alive.has(ws)) {
        ws.terminate();
        continue;
      }
      alive.delete(ws);
      ws.ping();
    }
  }, HEARTBEAT_MS);
  heartbeat.unref();

  server.on('upgrade', onUpgrade);

  return {
    async close() {
      server.off('upgrade', onUpgrade);
      clearInterval(heartbeat);
      for (const ws of wss.clients) ws.terminate();
      // Resolves once every socket has closed (and so has begun its departure).
      await new Promise<void>((resolve) => wss.close(() => resolve()));
      await Promise.all([...rooms.values()].map((room) => room.settled()));
      await Promise.all(pending);
    },
  };
}

function peerActor(claims: Peer['claims']): UserPrincipal {
  return {
    kind: 'user',
    id: claims.userId,
    username: claims.username,
    role: claims.role === 'host' ? 'doctor' : 'patient',
    sessionId: 'video-room',
    wards: [],
    patientId: claims.role === 'patient' ? claims.patientId : null,
  };
}

export function errorMessage(code: string, message: string) {
  return { type: 'error', code, message };
}

function sourceOf(request: IncomingMessage): RequestSource {
  return {
    ip: request.socket.remoteAddress ?? null,
    userAgent: request.headers['user-agent']?.slice(0, 512) ?? null,
  };
}

/**
 * A browser says where the page that opens the socket came from: only the cloud's own pages (or
 * configured origins) may, so another site cannot use a leaked token from a visitor's browser.
 */
function originAllowed(request: IncomingMessage, settings: VideoSettings): boolean {
  const origin = request.headers.origin;
  if (origin === undefined) return true;
  if (settings.allowedOrigins.includes(origin)) return true;
  try {
    return new URL(origin).host === request.headers.host;
  } catch {
    return false;
  }
}

const STATUS_TEXT: Record<number, string> = {
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  409: 'Conflict',
  500: 'Internal Server Error',
};

function refuse(socket: Duplex, status: number, code: string, message: string) {
  if (!socket.writable) return socket.destroy();
  const body = JSON.stringify({ error: { code, message } });
  socket.end(
    `HTTP/1.1 ${status} ${STATUS_TEXT[status]}\r\nContent-Type: application/json\r\n` +
      `Content-Length: ${Buffer.byteLength(body)}\r\nCache-Control: no-store\r\nConnection: close\r\n\r\n${body}`,
  );
}
