/** A request the principal may not make: 403 with a PHI-free reason, audited as denied. */
export class AccessDenied extends Error {
  readonly status = 403;
  readonly code = 'forbidden';
  constructor(message: string) {
    super(message);
    this.name = 'AccessDenied';
  }
}
