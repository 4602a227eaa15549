import { isSealed, type KeyRing, UnknownKeyVersionError } from './key-ring.ts';

/**
 * A text column holding PHI, stored sealed: the associated data names the table, the column and
 * the row's key, so a value copied to another row or column does not open.
 */
export class SealedTextColumn {
  readonly table: string;
  readonly column: string;
  /** The primary key column the associated data binds (one column), and its SQL type. */
  readonly key: string;
  readonly keyType: 'text' | 'bigint';
  private readonly adOf: (rowKey: string) => string;

  constructor(
    table: string,
    column: string,
    key: { name: string; type: 'text' | 'bigint' },
    ad?: (rowKey: string) => string,
  ) {
    this.table = table;
    this.column = column;
    this.key = key.name;
    this.keyType = key.type;
    this.adOf = ad ?? ((rowKey) => `${table}.${column}|${rowKey}`);
  }

  ad(rowKey: string | number): string {
    return this.adOf(String(rowKey));
  }

  seal(ring: KeyRing, rowKey: string | number, text: string): string {
    return ring.seal(text, this.ad(rowKey));
  }

  /**
   * The clear text of a stored value: opened when sealed, as it is when not (a row from before
   * encryption that the background migration has not sealed yet); null stays null.
   */
  async open(
    ring: KeyRing,
    rowKey: string | number,
    stored: string | null,
  ): Promise<string | null> {
    if (stored === null || !isSealed(stored)) return stored;
    try {
      return ring.open(stored, this.ad(rowKey));
    } catch (error) {
      if (!(error instanceof UnknownKeyVersionError)) throw error;
      await ring.reload();
      return ring.open(stored, this.ad(rowKey));
    }
  }
}

/** What the nurse screen shows of a patient (given name, family initial). */
export const BED_DISPLAY_NAME = new SealedTextColumn('bed_assignments', 'display_name', {
  name: 'id',
  type: 'bigint',
});

/** A clinician's free-text note when acknowledging a critical value. */
export const ALERT_ACKNOWLEDGE_NOTE = new SealedTextColumn('clinical_alerts', 'acknowledge_note', {
  name: 'id',
  type: 'text',
});

/**
 * A user's TOTP secret, sealed by the identity code with this ring as its SecretBox; the
 * associated data is auth/secret-box.ts mfaSecretAd (`users.mfa_secret:<id>`).
 */
export const USER_MFA_SECRET = new SealedTextColumn(
  'users',
  'mfa_secret',
  { name: 'id', type: 'text' },
  (id) => `users.mfa_secret:${id}`,
);

/** Why a clinician broke the glass, and the compliance officer's review: free text. */
export const BREAK_GLASS_REASON = new SealedTextColumn('break_glass_access', 'reason', {
  name: 'id',
  type: 'text',
});
export const BREAK_GLASS_REVIEW_NOTE = new SealedTextColumn('break_glass_access', 'review_note', {
  name: 'id',
  type: 'text',
});

/** Why the patient booked a visit. */
export const APPOINTMENT_CHIEF_COMPLAINT = new SealedTextColumn(
  'telehealth_appointments',
  'chief_complaint',
  { name: 'id', type: 'text' },
);

/** A message of a video visit's chat. */
export const VIDEO_CHAT_BODY = new SealedTextColumn('telehealth_chat_messages', 'body', {
  name: 'id',
  type: 'bigint',
});

/** A visit document's secretstream key (base64), bound to the document's id. */
export const DOCUMENT_CONTENT_KEY = new SealedTextColumn('telehealth_documents', 'wrapped_key', {
  name: 'id',
  type: 'text',
});

/** The host's next steps and follow-up after a visit (JSON). */
export const VISIT_NOTES = new SealedTextColumn('telehealth_visit_notes', 'notes', {
  name: 'appointment_id',
  type: 'text',
});

/** A prescription's interaction, allergy and duplicate alerts with the override reasons (JSON). */
export const PRESCRIPTION_ALERTS = new SealedTextColumn('telehealth_prescriptions', 'alerts', {
  name: 'id',
  type: 'text',
});

/** Every sealed text column: key rotation re-seals them, encryptionCoverage counts them. */
export const SEALED_TEXT_COLUMNS: readonly SealedTextColumn[] = [
  BED_DISPLAY_NAME,
  ALERT_ACKNOWLEDGE_NOTE,
  USER_MFA_SECRET,
  BREAK_GLASS_REASON,
  BREAK_GLASS_REVIEW_NOTE,
  APPOINTMENT_CHIEF_COMPLAINT,
  VIDEO_CHAT_BODY,
  DOCUMENT_CONTENT_KEY,
  VISIT_NOTES,
  PRESCRIPTION_ALERTS,
];
