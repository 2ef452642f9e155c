import type { Queryable } from '../../platform/db/database.ts';

/** identity_audit_log (append-only, hash-chained) and identity_audit_head (its last link). */
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

export type AuditHead = { last_seq: bigint; last_hash: string };

/** The head row, locked: appends go one at a time, so seq stays gapless and the chain linear. */
export async function lockAuditHead(tx: Queryable): Promise<AuditHead> {
  const { rows } = await tx.query<AuditHead>(
    'SELECT last_seq, last_hash FROM identity_audit_head WHERE id = 1 FOR UPDATE',
  );
  return rows[0]!;
}

export async function readAuditHead(q: Queryable): Promise<AuditHead | undefined> {
  const { rows } = await q.query<AuditHead>(
    'SELECT last_seq, last_hash FROM identity_audit_head WHERE id = 1',
  );
  return rows[0];
}

/** Inserts the row and moves the head to it (call with the head locked). */
export async function insertAuditRow(tx: Queryable, row: AuditRow): Promise<void> {
  await tx.query(
    `INSERT INTO identity_audit_log (seq, at, actor, action, subject, details, prev_hash, hash)
     VALUES ($1, $2, $3, $4, $5, $6, $7, $8)`,
    [
      row.seq,
      row.at,
      row.actor,
      row.action,
      row.subject,
      JSON.stringify(row.details),
      row.prev_hash,
      row.hash,
    ],
  );
  await tx.query('UPDATE identity_audit_head SET last_seq = $1, last_hash = $2 WHERE id = 1', [
    row.seq,
    row.hash,
  ]);
}

const AUDIT_COLUMNS = 'seq, at, actor, action, subject, details, prev_hash, hash';

/** Rows from `fromSeq` on, in seq order. */
export async function auditRowsFrom(q: Queryable, fromSeq: bigint, limit: number): Promise<AuditRow[]> {
  const { rows } = await q.query<AuditRow>(
    `SELECT ${AUDIT_COLUMNS} FROM identity_audit_log WHERE seq >= $1 ORDER BY seq LIMIT $2`,
    [fromSeq, limit],
  );
  return rows;
}

/** Rows after `afterSeq`, optionally of one subject and/or actor, in seq order. */
export async function findAuditRows(
  q: Queryable,
  filter: { afterSeq: bigint; limit: number; subject?: string; actor?: string },
): Promise<AuditRow[]> {
  const { rows } = await q.query<AuditRow>(
    `SELECT ${AUDIT_COLUMNS} FROM identity_audit_log
     WHERE seq > $1 AND ($2::text IS NULL OR subject = $2) AND ($3::text IS NULL OR actor = $3)
     ORDER BY seq LIMIT $4`,
    [filter.afterSeq, filter.subject ?? null, filter.actor ?? null, filter.limit],
  );
  return rows;
}
