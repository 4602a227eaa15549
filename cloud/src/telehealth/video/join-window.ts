import type { Visit } from '../appointments/visit.ts';
import type { VideoSettings } from './options.ts';

export interface JoinRefusal {
  code: string;
  message: string;
}

/**
 * Why nobody may enter the visit's room now, or undefined when they may: the room opens
 * `joinEarlyMs` before the start and closes `lateGraceMs` after the scheduled end, and a
 * cancelled, missed or finished visit has no room.
 */
export function joinRefusal(
  visit: Visit,
  now: number,
  settings: VideoSettings,
): JoinRefusal | undefined {
  if (visit.status === 'cancelled')
    return { code: 'appointment_cancelled', message: 'This appointment was cancelled' };
  if (visit.status === 'no-show')
    return { code: 'appointment_no_show', message: 'This appointment was marked as missed' };
  if (visit.status === 'completed')
    return { code: 'appointment_completed', message: 'This visit has ended' };
  const opensAt = visit.startAt - settings.joinEarlyMs;
  if (now < opensAt)
    return {
      code: 'too_early',
      message: `The visit room opens ${Math.round(settings.joinEarlyMs / 60_000)} minutes before the start, at ${new Date(opensAt).toISOString()}`,
    };
  if (now > visit.endAt + settings.lateGraceMs)
    return { code: 'visit_over', message: 'The time of this appointment has passed' };
  return undefined;
}
