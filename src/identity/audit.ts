import type { Queryable } from '../platform/db/database.ts';
import { auditHash, canonicalJson, GENESIS_HASH } from './audit-chain.ts';
import { auditRowsFrom, insertAuditRow, lockAuditHead, readAuditHead } from './store/audit.ts';

/** Who did it: 'user:<id>', 'operator:<id>', 'merchant:<id>', 'system'. */
export interface AuditEntry {
  actor: string;
  action: string;
  /** What it was done to, e.g. 'user:<id>', 'device:<id>'. */
  subject: string;
  details?: Record<string, unknown>;
}

/**
 * Appends one entry inside the caller's transaction, so the record commits or rolls back
 * with the action it describes. The head row lock makes appends one at a time, which
 * keeps seq gapless and the chain linear.
 */
export async function appendAudit(tx: Queryable, at: Date, entry: AuditEntry): Promise<void> {
  const head = await lockAuditHead(tx);
  const details = JSON.parse(canonicalJson(entry.details ?? {})) as Record<string, unknown>;
  const content = {
    seq: head.last_seq + 1n,
    at,
    actor: entry.actor,
    action: entry.action,
    subject: entry.subject,
    details,
  };
  await insertAuditRow(tx, {
    ...content,
    prev_hash: head.last_hash,
    hash: auditHash(head.last_hash, content),
  });
}

export interface AuditChainReport {
  ok: boolean;
  checked: number;
  violations: string[];
}

/**
 * Recomputes the whole chain: every hash, every link, no gaps in seq, and the head row
 * pointing at the last entry. `tuyere verify` runs this.
 */
export async function verifyAuditChain(db: Queryable, batchSize = 5000): Promise<AuditChainReport> {
  const violations: string[] = [];
  let previousHash = GENESIS_HASH;
  let expectedSeq = 1n;
  let checked = 0;
  for (;;) {
    const rows = await auditRowsFrom(db, expectedSeq, batchSize);
    for (const row of rows) {
      if (row.seq !== expectedSeq)
        violations.push(`audit seq ${expectedSeq} is missing (next is ${row.seq})`);
      if (row.prev_hash !== previousHash)
        violations.push(`audit seq ${row.seq}: prev_hash does not link to the row before`);
      const recomputed = auditHash(row.prev_hash, row);
      if (recomputed !== row.hash) violations.push(`audit seq ${row.seq}: content does not match its hash`);
      previousHash = row.hash;
      expectedSeq = row.seq + 1n;
      checked++;
    }
    if (rows.length < batchSize) break;
  }
  const last = await readAuditHead(db);
  if (!last || last.last_seq !== expectedSeq - 1n || last.last_hash !== previousHash) {
    violations.push('audit head does not point at the last entry (rows removed from the end?)');
  }
  return { ok: violations.length === 0, checked, violations };
}
