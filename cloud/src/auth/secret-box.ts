/**
 * Seals a secret for storage (the TOTP secret) and opens it again, binding where it is stored as
 * associated data so a sealed value copied to another row or column does not open. The PHI key
 * ring (cloud/src/crypto/) provides this; the identity code only needs these two operations.
 */
export interface SecretBox {
  seal(plaintext: string, associatedData: string): string | Promise<string>;
  open(sealed: string, associatedData: string): string | Promise<string>;
}

/** The associated data of a user's sealed TOTP secret: table, column and row. */
export const mfaSecretAd = (userId: string) => `users.mfa_secret:${userId}`;
