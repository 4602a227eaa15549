export interface DocumentOptions {
  /** Largest document in bytes. */
  maxBytes?: number;
}
