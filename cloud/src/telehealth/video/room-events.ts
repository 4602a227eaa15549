import { and, asc, eq } from 'drizzle-orm';
import type { Db } from '../../db/database.ts';
import type { VisitRole } from '../appointments/visit.ts';
import { videoRoomEvents } from './schema.ts';

export type VideoEventKind =
  | 'joined'
  | 'left'
  | 'waiting'
  | 'admitted'
  | 'recording-consent'
  | 'recording-started'
  | 'recording-stopped'
  | 'ended';

export async function recordVideoEvent(
  db: Db,
  event: {
    appointmentId: string;
    kind: VideoEventKind;
    at: number;
    userId: string;
    role: VisitRole;
  },
): Promise<void> {
  await db.insert(videoRoomEvents).values(event);
}

export async function hasVideoEvent(
  db: Db,
  appointmentId: string,
  kind: VideoEventKind,
): Promise<boolean> {
  const rows = await db
    .select({ id: videoRoomEvents.id })
    .from(videoRoomEvents)
    .where(and(eq(videoRoomEvents.appointmentId, appointmentId), eq(videoRoomEvents.kind, kind)))
    .limit(1);
  return rows.length > 0;
}

export async function videoEventsOf(db: Db, appointmentId: string) {
  return db
    .select({
      kind: videoRoomEvents.kind,
      at: videoRoomEvents.at,
      userId: videoRoomEvents.userId,
      role: videoRoomEvents.role,
    })
    .from(videoRoomEvents)
    .where(eq(videoRoomEvents.appointmentId, appointmentId))
    .orderBy(asc(videoRoomEvents.at), asc(videoRoomEvents.id));
}
