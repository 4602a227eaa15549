/** The pharmacy network endpoint NewRx messages are posted to. */
export interface PharmacyOptions {
  url: string;
}
