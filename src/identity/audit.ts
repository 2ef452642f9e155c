import type { Database, Queryable } from '../platform/db/database.ts';
import { auditHash, canonicalJson, GENESIS_HASH } from './audit-chain.ts';

/** Who did it: 'user:<id>', 'operator:<id>', 'merchant:<id>', 'system'. */
export interface AuditEntry {
  actor: string;
  action: string;
  /** What it was done to, e.g. 'user:<id>', 'device:<id>'. */
  subject: string;
  details?: Record<string, unknown>;
}

export type AuditRow = {
  seq: bigint;
  at: Date;
  actor: string;
  action: string;
  subject: string;
  details: Record<string, unknown>;
  prev_hash: string;
  hash: string;
};

/**
 * Appends one entry inside the caller's transaction, so the record commits or rolls back
 * with the action it describes. The head row lock makes appends one at a time, which
 * keeps seq gapless and the chain linear.
 */
export async function appendAudit(tx: Queryable, at: Date, entry: AuditEntry): Promise<void> {
  const head = await tx.query<{ last_seq: bigint; last_hash: string }>(
    'SELECT last_seq, last_hash FROM identity_audit_head WHERE id = 1 FOR UPDATE',
  );
  const { last_seq, last_hash } = head.rows[0]!;
  const details = JSON.parse(canonicalJson(entry.details ?? {})) as Record<string, unknown>;
  const seq = last_seq + 1n;
  const hash = auditHash(last_hash, {
    seq,
    at,
    actor: entry.actor,
    action: entry.action,
    subject: entry.subject,
    details,
  });
  await tx.query(
    `INSERT INTO identity_audit_log (seq, at, actor, action, subject, details, prev_hash, hash)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [seq, at, entry.actor, entry.action, entry.subject, JSON.stringify(details), last_hash, hash],
  );
  await tx.query('UPDATE identity_audit_head SET last_seq = $1, last_hash = $2 WHERE id = 1', [seq, hash]);
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
    const { rows } = await db.query<AuditRow>(
      'SELECT seq, at, actor, action, subject, details, prev_hash, hash FROM identity_audit_log WHERE seq >= $1 ORDER BY seq LIMIT $2',
      [expectedSeq, batchSize],
    );
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
  const head = await db.query<{ last_seq: bigint; last_hash: string }>(
    'SELECT last_seq, last_hash FROM identity_audit_head WHERE id = 1',
  );
  const last = head.rows[0];
  if (!last || last.last_seq !== expectedSeq - 1n || last.last_hash !== previousHash) {
    violations.push('audit head does not point at the last entry (rows removed from the end?)');
  }
  return { ok: violations.length === 0, checked, violations };
}

export async function readAudit(
  db: Database,
  filter: { afterSeq: bigint; limit: number; subject?: string; actor?: string },
): Promise<AuditRow[]> {
  const { rows } = await db.query<AuditRow>(
    `SELECT seq, at, actor, action, subject, details, prev_hash, hash FROM identity_audit_log
     WHERE seq > $1 AND ($2::text IS NULL OR subject = $2) AND ($3::text IS NULL OR actor = $3)
     ORDER BY seq LIMIT $4`,
    [filter.afterSeq, filter.subject ?? null, filter.actor ?? null, filter.limit],
  );
  return rows;
}
