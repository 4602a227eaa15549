export const NPI_SYSTEM = 'http://hl7.org/fhir/sid/us-npi';

/**
 * A US National Provider Identifier: 10 digits whose last is the Luhn check digit of the first
 * nine prefixed with 80840 (the health-industry card issuer number), as CMS defines it.
 */
export function isNpi(text: string): boolean {
  if (!/^\d{10}$/.test(text)) return false;
  const digits = `80840${text}`.split('').map(Number);
  let sum = 0;
  for (let i = digits.length - 1, double = false; i >= 0; i--, double = !double) {
    const d = double ? digits[i] * 2 : digits[i];
    sum += d > 9 ? d - 9 : d;
  }
  return sum % 10 === 0;
}
