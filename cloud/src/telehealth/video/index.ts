import { Hono } from 'hono';
import { accessOf } from '../../access/index.ts';
import type { Db } from '../../db/database.ts';
import { ApiError } from '../../http/json-body.ts';
import { requireParticipant } from '../appointments/visit.ts';
import type { TelehealthOptions } from '../options.ts';
import { chatTranscript } from './chat.ts';
import { joinRefusal } from './join-window.ts';
import { videoSettings } from './options.ts';
import { videoEventsOf } from './room-events.ts';
import { signRoomToken } from './room-token.ts';
import { SIGNALING_PATH } from './signaling.ts';

const iso = (ms: number) => new Date(ms).toISOString();

/**
 * /api/telehealth video routes: the room token a participant connects to the signaling socket
 * with (and the STUN/TURN servers for the browser), the chat transcript and the room's events.
 */
export function videoApp(db: Db, options: TelehealthOptions): Hono {
  const app = new Hono();
  const now = options.now ?? Date.now;
  const settings = videoSettings(options.video);

  app.post('/appointments/:id/video/token', async (c) => {
    const id = c.req.param('id');
    const access = accessOf(c);
    // Issuing it is recorded as a create (not 'token': that action counts as a sign-in, and a
    // patient trying too early is no failed sign-in).
    const op = access.record('create', `Appointment/${id}/video-token`);
    const { visit, role } = await requireParticipant(db, access, id, op);
    const at = now();
    const refusal = joinRefusal(visit, at, settings);
    if (refusal) throw new ApiError(409, refusal.code, refusal.message);
    const expiresAt = at + settings.tokenTtlMs;
    const token = signRoomToken(db, {
      appointmentId: id,
      userId: access.principal.id,
      username: access.principal.kind === 'user' ? access.principal.username : '',
      role,
      patientId: visit.patientId,
      expiresAt,
    });
    return c.json({
      appointmentId: id,
      role,
      token,
      expiresAt: iso(expiresAt),
      signalingPath: SIGNALING_PATH,
      iceServers: settings.iceServers,
    });
  });

  app.get('/appointments/:id/video/chat', async (c) => {
    const id = c.req.param('id');
    const access = accessOf(c);
    const op = access.record('read', `Appointment/${id}/chat`);
    await requireParticipant(db, access, id, op);
    const messages = await chatTranscript(db, id);
    return c.json({
      appointmentId: id,
      messages: messages.map((m) => ({ ...m, sentAt: iso(m.sentAt) })),
    });
  });

  app.get('/appointments/:id/video/events', async (c) => {
    const id = c.req.param('id');
    const access = accessOf(c);
    const op = access.record('read', `Appointment/${id}/video`);
    await requireParticipant(db, access, id, op);
    const events = await videoEventsOf(db, id);
    return c.json({ appointmentId: id, events: events.map((e) => ({ ...e, at: iso(e.at) })) });
  });

  return app;
}
