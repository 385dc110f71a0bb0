import { describe, expect, it } from 'vitest';
import {
  currencyExponent,
  fromMinorUnits,
  InvalidAmountError,
  maskParty,
  toMinorUnits,
} from '../../core/money';

describe('currencyExponent', () => {
  it.each([
    ['XOF', 0],
    ['XAF', 0],
    ['UGX', 0],
    ['RWF', 0],
    ['GNF', 0],
    ['GHS', 2],
    ['ZMW', 2],
    ['ZAR', 2],
    ['NGN', 2],
    ['EUR', 2],
    ['USD', 2],
    ['SZL', 2],
    ['LRD', 2],
  ])('gives %s %i minor digits', (currency, exponent) => {
    expect(currencyExponent(currency)).toBe(exponent);
  });

  it.each([
    ['JPY', 0],
    ['KWD', 3],
    ['GBP', 2],
  ])('falls back to the runtime currency data for %s', (currency, exponent) => {
    expect(currencyExponent(currency)).toBe(exponent);
  });

  it.each(['ghs', 'GH', 'GHSS', '', 'G1S'])('fails if the currency code is %j', (currency) => {
    expect(() => currencyExponent(currency)).toThrow(InvalidAmountError);
  });
});

describe('toMinorUnits', () => {
  it.each([
    ['1500.00', 'GHS', 150000],
    ['1500.5', 'GHS', 150050],
    ['1500', 'GHS', 150000],
    ['0.01', 'GHS', 1],
    ['0', 'ZMW', 0],
    ['0.10', 'USD', 10],
    ['1500', 'XOF', 1500],
    ['1500.00', 'XAF', 1500],
    ['25000', 'UGX', 25000],
    ['1500.000', 'GHS', 150000],
    ['007.50', 'GHS', 750],
    ['9007199254740.99', 'GHS', 900719925474099],
    // Floats would drift on these: 1.15 * 100 is 114.99999999999999.
    ['1.15', 'GHS', 115],
    ['4.35', 'EUR', 435],
    ['1.005', 'KWD', 1005],
  ])('turns %s %s into %i minor units', (amount, currency, minor) => {
    expect(toMinorUnits(amount, currency)).toBe(minor);
  });

  it.each([
    ['1500.005', 'GHS', 'more precision than the currency has'],
    ['1500.5', 'XOF', 'a fraction of a currency without minor units'],
    ['-15.00', 'GHS', 'a minus sign'],
    ['+15.00', 'GHS', 'a plus sign'],
    ['1e3', 'GHS', 'an exponent'],
    ['1,500.00', 'GHS', 'a thousands separator'],
    [' 15.00', 'GHS', 'surrounding blanks'],
    ['15.', 'GHS', 'a trailing point'],
    ['.50', 'GHS', 'a leading point'],
    ['', 'GHS', 'nothing'],
    ['NaN', 'GHS', 'garbage'],
    ['0x10', 'GHS', 'a hexadecimal number'],
    ['٣٤', 'GHS', 'non-ASCII digits'],
    ['90071992547409.93', 'GHS', 'more than a safe integer of minor units'],
    ['15.00', 'cedi', 'a malformed currency'],
  ])('fails on %j %s (%s)', (amount, currency) => {
    expect(() => toMinorUnits(amount, currency)).toThrow(InvalidAmountError);
  });
});

describe('fromMinorUnits', () => {
  it.each([
    [150050, 'GHS', '1500.50'],
    [1, 'GHS', '0.01'],
    [0, 'EUR', '0.00'],
    [10, 'USD', '0.10'],
    [1500, 'XOF', '1500'],
    [0, 'UGX', '0'],
    [1005, 'KWD', '1.005'],
  ])('formats %i %s as %s', (minor, currency, amount) => {
    expect(fromMinorUnits(minor, currency)).toBe(amount);
  });

  it.each([
    [-1, 'a negative amount'],
    [1.5, 'a fraction of a minor unit'],
    [Number.MAX_SAFE_INTEGER + 1, 'an unsafe integer'],
    [Number.NaN, 'NaN'],
  ])('fails on %d (%s)', (minor) => {
    expect(() => fromMinorUnits(minor, 'GHS')).toThrow(InvalidAmountError);
  });

  it.each([
    [0, 'GHS'],
    [123456789, 'GHS'],
    [987654, 'XAF'],
  ])('round-trips %i %s through the decimal string', (minor, currency) => {
    expect(toMinorUnits(fromMinorUnits(minor, currency), currency)).toBe(minor);
  });
});

describe('maskParty', () => {
  it.each([
    ['233241234567', '****4567'],
    ['+233 24 123 4567', '****4567'],
    ['46733123453', '****3453'],
    ['12345', '****2345'],
    ['1234', '****'],
    ['', '****'],
  ])('masks %j as %j', (partyId, masked) => {
    expect(maskParty(partyId)).toBe(masked);
  });

  it('hides the length of the number', () => {
    expect(maskParty('2331234567').length).toBe(maskParty('233241234567').length);
  });
});
