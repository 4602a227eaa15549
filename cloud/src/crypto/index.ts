// PHI encrypted at rest: the key ring (versions, rotation, a KMS seam), sealed columns, blind
// indexes of the values that identify a person, the background re-encryption, coverage, and the
// redaction of what goes to logs. README, "PHI encrypted at rest", says how it fits together.

export { type ColumnCoverage, type EncryptionCoverage, encryptionCoverage } from './coverage.ts';
export { bindKeyRing, keyRingOf } from './db-key-ring.ts';
export {
  type ContentRow,
  contentAd,
  openContent,
  openContents,
  openOne,
  sealResource,
} from './fhir-content.ts';
export {
  createKeyFile,
  FileKeySource,
  keyFileBeside,
  loadKeyRing,
  rotateKeyFile,
} from './key-file.ts';
export {
  type DataKey,
  ephemeralKeyRing,
  isSealed,
  type KeyMaterial,
  KeyRing,
  type KeySource,
  MemoryKeySource,
  SealedValueError,
  sealedVersion,
  UnknownKeyVersionError,
} from './key-ring.ts';
export { checkKeyRingFits, keyRingBeside, resolveKeyRing } from './key-ring-setup.ts';
export {
  type KeyRotationJob,
  type RotationPass,
  reencryptPass,
  startKeyRotation,
} from './key-rotation.ts';
export { errorForLog, redactedUrl } from './log-redaction.ts';
export { blindIndexRows, blindKindOf, normalizeContact, wordsOf } from './phi-index.ts';
export {
  ALERT_ACKNOWLEDGE_NOTE,
  BED_DISPLAY_NAME,
  SEALED_TEXT_COLUMNS,
  SealedTextColumn,
  USER_MFA_SECRET,
} from './sealed-text.ts';
