import { createHash } from 'node:crypto';

/**
 * The audit log's hash chain, as pure functions: each entry's hash covers its canonical
 * content and the previous hash, so changing, inserting or removing any row breaks every
 * later hash.
 */
export interface AuditContent {
  seq: bigint;
  at: Date;
  actor: string;
  action: string;
  subject: string;
  details: Record<string, unknown>;
}

export const GENESIS_HASH = '0'.repeat(64);

/** JSON with object keys sorted at every level, so equal content always gives equal text. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    if (typeof value === 'bigint') return JSON.stringify(value.toString());
    if (typeof value === 'number' && !Number.isSafeInteger(value)) {
      throw new RangeError('audit details may hold only safe integers, strings, booleans and null');
    }
    return JSON.stringify(value) ?? 'null';
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

export function auditHash(previousHash: string, content: AuditContent): string {
  const canonical = canonicalJson({
    seq: content.seq.toString(),
    at: content.at.toISOString(),
    actor: content.actor,
    action: content.action,
    subject: content.subject,
    details: content.details,
  });
  return createHash('sha256').update(previousHash).update('\n').update(canonical).digest('hex');
}
