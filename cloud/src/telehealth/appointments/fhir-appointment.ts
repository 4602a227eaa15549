import type { FhirResource } from '../../fhir/store/validate.ts';
import type { AppointmentStatus, AppointmentType } from './visit.ts';

export const APPOINTMENT_TYPE_SYSTEM = 'urn:wardgate:appointment-type';

export const APPOINTMENT_TYPES: Record<AppointmentType, string> = {
  consultation: 'Consultation',
  'follow-up': 'Follow-up',
  'urgent-care': 'Urgent care',
  'mental-health': 'Mental health',
  specialist: 'Specialist',
};

/** Our statuses as FHIR Appointment.status codes. */
export const FHIR_APPOINTMENT_STATUS: Record<AppointmentStatus, string> = {
  scheduled: 'booked',
  'in-progress': 'arrived',
  completed: 'fulfilled',
  cancelled: 'cancelled',
  'no-show': 'noshow',
};

export interface AppointmentFields {
  id: string;
  type: AppointmentType;
  status: AppointmentStatus;
  startAt: number;
  endAt: number;
  patientId: string;
  practitionerId: string;
  /** The Slot it occupies, when booked from one. */
  slotId?: string;
  cancelationReason?: string;
  /** The appointment this one replaces (reschedule). */
  replaces?: string;
}

/** The FHIR Appointment of a booking (the ledger row is the source of truth for times). */
export function fhirAppointment(a: AppointmentFields): FhirResource {
  return {
    resourceType: 'Appointment',
    id: a.id,
    status: FHIR_APPOINTMENT_STATUS[a.status],
    ...(a.cancelationReason && { cancelationReason: { text: a.cancelationReason } }),
    appointmentType: {
      coding: [
        { system: APPOINTMENT_TYPE_SYSTEM, code: a.type, display: APPOINTMENT_TYPES[a.type] },
      ],
    },
    start: new Date(a.startAt).toISOString(),
    end: new Date(a.endAt).toISOString(),
    minutesDuration: Math.round((a.endAt - a.startAt) / 60_000),
    ...(a.slotId && { slot: [{ reference: `Slot/${a.slotId}` }] }),
    ...(a.replaces && {
      extension: [
        {
          url: 'urn:wardgate:fhir:appointment-replaces',
          valueReference: { reference: `Appointment/${a.replaces}` },
        },
      ],
    }),
    participant: [
      { actor: { reference: `Patient/${a.patientId}` }, required: 'required', status: 'accepted' },
      {
        actor: { reference: `Practitioner/${a.practitionerId}` },
        required: 'required',
        status: 'accepted',
      },
    ],
  };
}
