/**
 * Chinese resident identity numbers (GB 11643-1999): 17 digits then a check character
 * (0-9 or X) computed with ISO 7064 MOD 11-2. Pure: no I/O.
 */
const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2] as const;
const CHECK_CHARACTERS = '10X98765432';
const SHAPE = /^\d{17}[\dX]$/;

/** The check character for the first 17 digits. */
export function idCheckCharacter(first17: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(first17[i]) * WEIGHTS[i]!;
  return CHECK_CHARACTERS[sum % 11]!;
}

function isRealDate(yyyymmdd: string): boolean {
  const year = Number(yyyymmdd.slice(0, 4));
  const month = Number(yyyymmdd.slice(4, 6));
  const day = Number(yyyymmdd.slice(6, 8));
  if (year < 1900 || month < 1 || month > 12 || day < 1) return false;
  const daysInMonth = new Date(Date.UTC(year, month, 0)).getUTCDate();
  return day <= daysInMonth;
}

/** Upper-cases a trailing x and strips spaces, so "110101 19900307 123x" is accepted. */
export function normalizeIdNumber(raw: string): string {
  return raw.replace(/\s+/g, '').toUpperCase();
}

/** True for a well-formed 18-character ID number with a valid birth date and check character. */
export function isValidChineseId(idNumber: string): boolean {
  if (!SHAPE.test(idNumber)) return false;
  if (!isRealDate(idNumber.slice(6, 14))) return false;
  return idCheckCharacter(idNumber.slice(0, 17)) === idNumber[17];
}

/**
 * The only form in which an ID number is ever shown: first 4 and last 4 characters.
 * @example maskIdNumber('110101199003071234') === '1101**********1234'
 */
export function maskIdNumber(idNumber: string): string {
  if (idNumber.length < 8) return '*'.repeat(idNumber.length);
  return `${idNumber.slice(0, 4)}${'*'.repeat(idNumber.length - 8)}${idNumber.slice(-4)}`;
}

/** Builds a valid ID number from a region, birth date and 3-digit sequence (tests, demo). */
export function makeChineseId(region: string, birthDate: string, sequence: string): string {
  const first17 = `${region}${birthDate}${sequence}`;
  if (!/^\d{17}$/.test(first17)) throw new RangeError('makeChineseId: need 6 + 8 + 3 digits');
  return first17 + idCheckCharacter(first17);
}
