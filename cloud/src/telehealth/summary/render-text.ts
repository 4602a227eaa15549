import type { VisitSummary } from './compose.ts';

/** A plain-text rendering of a visit summary, to print or keep. */
export function summaryText(s: VisitSummary): string {
  const zone = s.appointment.timeZone ?? 'UTC';
  const when = (value: string, withDate = true) =>
    new Intl.DateTimeFormat('en-GB', {
      timeZone: zone,
      ...(withDate && { day: 'numeric', month: 'short', year: 'numeric' }),
      hour: '2-digit',
      minute: '2-digit',
    }).format(new Date(value));
  const lines = [
    'Visit summary',
    '',
    `Appointment:  ${s.appointment.type}, ${s.appointment.status}`,
    `Scheduled:    ${when(s.appointment.start)}–${when(s.appointment.end, false)} (${zone})`,
    `Clinician:    ${s.appointment.clinician.name ?? s.appointment.clinician.practitioner}`,
    `Patient:      ${s.appointment.patient.reference}`,
    `Video visit:  ${sessionLine(s, when)}`,
    `Reason:       ${s.chiefComplaint ?? '—'}`,
    '',
    'Prescriptions:',
    ...(s.prescriptions.length
      ? s.prescriptions.map(
          (p) =>
            `  - ${p.medication} (RxNorm ${p.rxnorm})${p.dosage ? `: ${p.dosage}` : ''}; ${p.status ?? 'status unknown'}, ${p.transmission === 'sent' ? 'sent to the pharmacy' : `pharmacy: ${p.transmission}`}`,
        )
      : ['  none']),
    '',
    'Documents shared:',
    ...(s.documents.length
      ? s.documents.map(
          (d) =>
            `  - ${d.title ?? d.id} (${d.contentType}, ${kilobytes(d.sizeBytes)}) by the ${d.sharedBy === 'host' ? 'clinician' : 'patient'}`,
        )
      : ['  none']),
    '',
    'Next steps:',
    ...(s.nextSteps ?? 'none written yet').split('\n').map((l) => `  ${l}`),
    '',
    `Follow-up:    ${
      s.followUp
        ? `${s.followUp.type} ${s.followUp.inDays ? `in ${s.followUp.inDays} days, ` : ''}by ${s.followUp.date}`
        : s.nextSteps
          ? 'none needed'
          : '—'
    }`,
  ];
  return `${lines.join('\n')}\n`;
}

function sessionLine(s: VisitSummary, when: (v: string, withDate?: boolean) => string): string {
  if (!s.session) return 'did not take place';
  const start = when(s.session.startedAt, false);
  if (s.session.endedAt === null || s.session.durationSeconds === null)
    return `started ${start}, not ended`;
  const minutes = Math.floor(s.session.durationSeconds / 60);
  const seconds = s.session.durationSeconds % 60;
  return `${start}–${when(s.session.endedAt, false)} (${minutes} min ${seconds} s)`;
}

function kilobytes(bytes: number): string {
  return bytes < 1024 ? `${bytes} bytes` : `${Math.round(bytes / 1024)} KiB`;
}
