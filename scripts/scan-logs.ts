/**
 * Scans JSON log files for secrets and personal data that must never be logged: payment
 * PINs, Chinese ID numbers, SMS codes, card numbers (Luhn-valid runs of 13-19 digits) and
 * mainland mobile numbers (1[3-9] and nine digits, query strings included).
 * `npm test` runs it over test-results/logs after the suite and fails on any hit.
 * Run alone: `node --import tsx scripts/scan-logs.ts [dir]`.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { isValidChineseId } from '../src/identity/chinese-id.ts';

export type LeakKind = 'pin' | 'id_number' | 'sms_code' | 'card_number' | 'phone';
export interface Leak {
  file: string;
  line: number;
  kind: LeakKind;
  /** The hit with its middle masked, so the report itself does not leak. */
  excerpt: string;
}
export interface LogScanReport {
  files: number;
  lines: number;
  leaks: Leak[];
}

const PIN_FIELD = /"(?:pin|new_pin|old_pin|payment_pin|pin_code)"\s*:\s*"?(\d{4,8})"?/gi;
const SMS_FIELD = /"(?:sms_code|otp|verification_code|code)"\s*:\s*"?(\d{4,8})"?/gi;
const SMS_TEXT = /(?:code|验证码)(?:\s+is|\s*[:：])?\s*(\d{6})\b/gi;
const ID_NUMBER = /(?<![0-9A-Za-z])(\d{17}[\dXx])(?![0-9A-Za-z])/g;
const PHONE = /(?<![0-9A-Za-z.])(1[3-9]\d{9})(?![0-9A-Za-z])/g;
const DIGIT_RUN = /(?<![0-9A-Za-z.])((?:\d[ -]?){12,18}\d)(?![0-9A-Za-z])/g;
// pino's own numeric fields (epoch milliseconds and the like) are not card numbers.
const BENIGN_NUMBER_FIELDS = /"(?:time|pid|responseTime|elapsed|seq|last_seq)"\s*:\s*"?\d+(?:\.\d+)?"?/g;

// UUIDs (request ids, entity ids): their all-digit groups, joined by hyphens, can form a
// Luhn-valid run by chance.
const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

export function luhnValid(digits: string): boolean {
  let sum = 0;
  for (let i = 0; i < digits.length; i++) {
    let digit = Number(digits[digits.length - 1 - i]);
    if (i % 2 === 1) {
      digit *= 2;
      if (digit > 9) digit -= 9;
    }
    sum += digit;
  }
  return sum % 10 === 0;
}

function mask(value: string): string {
  return value.length <= 4
    ? '*'.repeat(value.length)
    : `${value.slice(0, 2)}${'*'.repeat(value.length - 4)}${value.slice(-2)}`;
}

/** Every leak in one line of log text. */
export function scanLine(text: string): Array<{ kind: LeakKind; value: string }> {
  const hits: Array<{ kind: LeakKind; value: string }> = [];
  for (const match of text.matchAll(PIN_FIELD)) hits.push({ kind: 'pin', value: match[1]! });
  for (const match of text.matchAll(SMS_FIELD)) hits.push({ kind: 'sms_code', value: match[1]! });
  for (const match of text.matchAll(SMS_TEXT)) hits.push({ kind: 'sms_code', value: match[1]! });
  const ids = new Set<string>();
  for (const match of text.matchAll(ID_NUMBER)) {
    const id = match[1]!.toUpperCase();
    if (isValidChineseId(id)) {
      ids.add(id);
      hits.push({ kind: 'id_number', value: id });
    }
  }
  const withoutBenign = text.replace(BENIGN_NUMBER_FIELDS, '').replace(UUID, '');
  for (const match of withoutBenign.matchAll(PHONE)) hits.push({ kind: 'phone', value: match[1]! });
  for (const match of withoutBenign.matchAll(DIGIT_RUN)) {
    const digits = match[1]!.replace(/[ -]/g, '');
    if (digits.length < 13 || digits.length > 19 || ids.has(digits)) continue;
    if (luhnValid(digits)) hits.push({ kind: 'card_number', value: digits });
  }
  return hits;
}

export function scanLogs(directory: string): LogScanReport {
  const report: LogScanReport = { files: 0, lines: 0, leaks: [] };
  let entries: string[];
  try {
    entries = readdirSync(directory)
      .filter((name) => name.endsWith('.log'))
      .sort();
  } catch {
    return report;
  }
  for (const name of entries) {
    report.files++;
    const lines = readFileSync(path.join(directory, name), 'utf8').split('\n');
    lines.forEach((text, index) => {
      if (!text) return;
      report.lines++;
      for (const hit of scanLine(text)) {
        report.leaks.push({ file: name, line: index + 1, kind: hit.kind, excerpt: mask(hit.value) });
      }
    });
  }
  return report;
}

if (process.argv[1] && import.meta.url === new URL(`file://${path.resolve(process.argv[1])}`).href) {
  const directory = process.argv[2] ?? path.resolve(import.meta.dirname, '../test-results/logs');
  const report = scanLogs(directory);
  for (const leak of report.leaks) console.log(`${leak.file}:${leak.line}  ${leak.kind}  ${leak.excerpt}`);
  console.log(`Scanned ${report.lines} lines in ${report.files} files: ${report.leaks.length} leaks.`);
  process.exitCode = report.leaks.length > 0 ? 1 : 0;
}
