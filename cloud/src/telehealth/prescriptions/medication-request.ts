import type { FhirResource } from '../../fhir/store/validate.ts';
import { RXNORM_SYSTEM } from './drug-catalog.ts';
import { drugDescription, type OrderedMedication } from './order.ts';

/**
 * The e-prescribing state on the MedicationRequest: sub-extensions status (pending | sent |
 * failed), messageId (the NewRx MessageID), pharmacy (NCPDP id), attempts, sentAt, lastError.
 */
export const ERX_TRANSMISSION_EXTENSION = 'urn:wardgate:fhir:StructureDefinition/erx-transmission';
/** Prescriptions signed together share a groupIdentifier in this system. */
export const PRESCRIPTION_ORDER_SYSTEM = 'urn:wardgate:prescription-order';

export type TransmissionStatus = 'pending' | 'sent' | 'failed';

export interface TransmissionState {
  status: TransmissionStatus;
  messageId: string;
  pharmacyId: string;
  attempts: number;
  sentAt?: number | null;
  lastError?: string | null;
}

export function transmissionExtension(state: TransmissionState) {
  return {
    url: ERX_TRANSMISSION_EXTENSION,
    extension: [
      { url: 'status', valueCode: state.status },
      { url: 'messageId', valueString: state.messageId },
      { url: 'pharmacy', valueString: state.pharmacyId },
      { url: 'attempts', valueInteger: state.attempts },
      ...(state.sentAt
        ? [{ url: 'sentAt', valueInstant: new Date(state.sentAt).toISOString() }]
        : []),
      ...(state.lastError ? [{ url: 'lastError', valueString: state.lastError }] : []),
    ],
  };
}

/** The request with its transmission extension replaced by `state`. */
export function withTransmission(request: FhirResource, state: TransmissionState): FhirResource {
  const others = ((request.extension as { url: string }[] | undefined) ?? []).filter(
    (e) => e.url !== ERX_TRANSMISSION_EXTENSION,
  );
  return { ...request, extension: [...others, transmissionExtension(state)] };
}

export interface MedicationRequestFields {
  id: string;
  orderId: string;
  medication: OrderedMedication;
  patientId: string;
  practitionerId: string;
  appointmentId: string | null;
  authoredOn: number;
  transmission: TransmissionState;
}

/**
 * An active order, signed in a visit or outside one. R4 basedOn cannot point at an Appointment, so the visit is
 * in supportingInformation.
 */
export function medicationRequest(f: MedicationRequestFields): FhirResource {
  const m = f.medication;
  return {
    resourceType: 'MedicationRequest',
    id: f.id,
    extension: [transmissionExtension(f.transmission)],
    status: 'active',
    intent: 'order',
    medicationCodeableConcept: {
      coding: [{ system: RXNORM_SYSTEM, code: m.drug.rxcui, display: m.drug.name }],
      text: drugDescription(m),
    },
    subject: { reference: `Patient/${f.patientId}` },
    ...(f.appointmentId && {
      supportingInformation: [{ reference: `Appointment/${f.appointmentId}` }],
    }),
    authoredOn: new Date(f.authoredOn).toISOString(),
    requester: { reference: `Practitioner/${f.practitionerId}` },
    groupIdentifier: { system: PRESCRIPTION_ORDER_SYSTEM, value: f.orderId },
    dosageInstruction: [{ text: m.sig }],
    dispenseRequest: {
      numberOfRepeatsAllowed: m.refills,
      quantity: { value: m.quantity.value, unit: m.quantity.unit },
      expectedSupplyDuration: {
        value: m.daysSupply,
        unit: 'days',
        system: 'http://unitsofmeasure.org',
        code: 'd',
      },
    },
    substitution: { allowedBoolean: m.substitutionAllowed },
  };
}
