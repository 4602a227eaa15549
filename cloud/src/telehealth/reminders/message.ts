export interface ReminderMessage {
  subject: string;
  text: string;
  /** The short form for SMS. */
  sms: string;
}

/**
 * A reminder says no more than it must: when, with whom, and where to join. Not the patient's
 * name, the kind of visit (mental health is itself sensitive) nor why it was booked.
 */
export function reminderMessage(visit: {
  startAt: number;
  timeZone: string;
  clinician: string;
  joinHint: string;
}): ReminderMessage {
  const when = new Intl.DateTimeFormat('en-GB', {
    timeZone: visit.timeZone,
    weekday: 'short',
    day: 'numeric',
    month: 'short',
    year: 'numeric',
    hour: '2-digit',
    minute: '2-digit',
    timeZoneName: 'short',
  }).format(new Date(visit.startAt));
  return {
    subject: 'Reminder: your video visit',
    text: [
      `You have a video visit with ${visit.clinician} on ${when}.`,
      `You can join from 15 minutes before the start on ${visit.joinHint}.`,
      'If you cannot attend, please cancel or reschedule the appointment there.',
    ].join('\n'),
    sms: `Reminder: video visit with ${visit.clinician} on ${when}. Join from 15 min before on ${visit.joinHint}.`,
  };
}
