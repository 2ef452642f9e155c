/** Card-number rules shared by the connector (checks before anything leaves Tuyere) and the sandbox. */

const PAN_PATTERN = /^\d{12,19}$/;

/** Luhn (mod 10) check over a string of digits. */
export function luhnValid(digits: string): boolean {
  if (!/^\d+$/.test(digits)) return false;
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let digit = digits.charCodeAt(digits.length - 1 - i) - 48;
    if (i % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return sum % 10 === 0;
}

/** A PAN as the bank accepts it: 12-19 digits (spaces and dashes removed) with a valid Luhn digit. */
export function normalizePan(input: string): string | null {
  const digits = input.replace(/[\s-]/g, '');
  return PAN_PATTERN.test(digits) && luhnValid(digits) ? digits : null;
}

/** Completes a digit prefix with its Luhn check digit (used for documented test cards). */
export function withLuhnDigit(prefix: string): string {
  for (let check = 0; check <= 9; check++) {
    if (luhnValid(`${prefix}${check}`)) return `${prefix}${check}`;
  }
  throw new Error('unreachable: one check digit always fits');
}

export const lastFour = (pan: string): string => pan.slice(-4);
