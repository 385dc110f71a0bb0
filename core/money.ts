/**
 * Money on the wire is a decimal string; money in the domain is an integer count of the
 * currency's minor units. The conversion goes through strings and integer arithmetic only, so no
 * binary float ever rounds a balance.
 */

/**
 * ISO 4217 minor-unit exponents of the currencies MTN MoMo markets settle in. Pinned here rather
 * than left to the runtime's ICU data, which has disagreed with ISO on some of them (UGX, RWF).
 */
const EXPONENTS: Readonly<Record<string, number>> = {
  XOF: 0,
  XAF: 0,
  UGX: 0,
  RWF: 0,
  GNF: 0,
  GHS: 2,
  ZMW: 2,
  ZAR: 2,
  NGN: 2,
  EUR: 2,
  USD: 2,
  SZL: 2,
  LRD: 2,
  SSP: 2,
  SDG: 2,
};

const CURRENCY_CODE = /^[A-Z]{3}$/;
const DECIMAL = /^(\d+)(?:\.(\d+))?$/;

/** Thrown for an amount or currency that cannot be represented exactly. */
export class InvalidAmountError extends Error {
  constructor(reason: string) {
    super(reason);
    this.name = 'InvalidAmountError';
  }
}

/** The number of minor-unit digits of an ISO 4217 currency code (`XOF` 0, `GHS` 2). */
export function currencyExponent(currency: string): number {
  if (!CURRENCY_CODE.test(currency)) {
    throw new InvalidAmountError(`currency must be three capital letters, got "${currency}"`);
  }
  const pinned = EXPONENTS[currency];
  if (pinned !== undefined) return pinned;
  return new Intl.NumberFormat('en', { style: 'currency', currency }).resolvedOptions()
    .maximumFractionDigits as number;
}

/**
 * Parses an unsigned decimal string ("1500", "1500.50") into integer minor units. Rejects signs,
 * exponents, blanks and any non-zero digit beyond the currency's precision.
 */
export function toMinorUnits(amount: string, currency: string): number {
  const exponent = currencyExponent(currency);
  const match = DECIMAL.exec(amount);
  if (!match) {
    throw new InvalidAmountError('amount must be an unsigned decimal string such as "1500.00"');
  }
  const whole = match[1] as string;
  const fraction = match[2] ?? '';
  // "1500.000" is fine for GHS; "1500.005" is not, since the half-pesewa would be lost.
  const kept = fraction.slice(0, exponent);
  if (/[^0]/.test(fraction.slice(exponent))) {
    throw new InvalidAmountError(`amount has more than ${exponent} decimals for ${currency}`);
  }
  const minor = Number(whole + kept.padEnd(exponent, '0'));
  if (!Number.isSafeInteger(minor)) {
    throw new InvalidAmountError('amount is too large to hold exactly');
  }
  return minor;
}

/** Formats integer minor units as the decimal string the provider uses ("1500.50", "1500"). */
export function fromMinorUnits(minor: number, currency: string): string {
  if (!Number.isSafeInteger(minor) || minor < 0) {
    throw new InvalidAmountError('minor units must be a non-negative safe integer');
  }
  const exponent = currencyExponent(currency);
  if (exponent === 0) return String(minor);
  const digits = String(minor).padStart(exponent + 1, '0');
  return `${digits.slice(0, -exponent)}.${digits.slice(-exponent)}`;
}

/**
 * Masks a party id down to its last four digits ("****4567"). The mask has a fixed width so it
 * does not leak the number's length; an id with four digits or fewer is masked whole.
 */
export function maskParty(partyId: string): string {
  const digits = partyId.replace(/\D/g, '');
  return digits.length > 4 ? `****${digits.slice(-4)}` : '****';
}
