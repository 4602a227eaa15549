import { asc, eq } from 'drizzle-orm';
import type { Db } from '../../db/database.ts';
import { videoRoomEvents } from './schema.ts';

/** How long the video visit ran; endedAt null while it has not ended. */
export interface VisitSession {
  startedAt: number;
  endedAt: number | null;
  durationSeconds: number | null;
}

export interface RoomEvent {
  at: number;
  kind: string;
}

/**
 * The session from the room's events (in order): it starts at the first `admitted` (the host
 * lets the patient in) and ends at the first `ended` after it (the host ends the visit), or else
 * at the last `left` after it. No admission: no session (undefined).
 */
export function sessionOf(events: readonly RoomEvent[]): VisitSession | undefined {
  const start = events.findIndex((e) => e.kind === 'admitted');
  if (start < 0) return undefined;
  const startedAt = events[start].at;
  const after = events.slice(start + 1);
  const end = after.find((e) => e.kind === 'ended') ?? after.findLast((e) => e.kind === 'left');
  if (!end) return { startedAt, endedAt: null, durationSeconds: null };
  return {
    startedAt,
    endedAt: end.at,
    durationSeconds: Math.round((end.at - startedAt) / 1000),
  };
}

/** The session of an appointment's video room. */
export async function loadSession(db: Db, appointmentId: string) {
  const events = await db
    .select({ at: videoRoomEvents.at, kind: videoRoomEvents.kind })
    .from(videoRoomEvents)
    .where(eq(videoRoomEvents.appointmentId, appointmentId))
    .orderBy(asc(videoRoomEvents.at), asc(videoRoomEvents.id));
  return sessionOf(events.filter((e) => SESSION_KINDS.includes(e.kind)));
}

const SESSION_KINDS = ['admitted', 'ended', 'left'];
