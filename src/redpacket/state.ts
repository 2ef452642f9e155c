import type { Queryable } from '../platform/db/database.ts';

/** What the grab path needs to know about an envelope, cached in memory per process. */
export interface EnvelopeState {
  id: string;
  groupId: string | null;
  recipientId: string | null;
  status: EnvelopeStatus;
  shares: bigint[];
  escrowAccountId: string;
  expiresAt: Date;
  createdAt: Date;
  /** Grabs known to this process, by user. */
  grabs: Map<string, KnownGrab>;
}

export type EnvelopeStatus = 'funding' | 'active' | 'finished' | 'expired' | 'failed';

export interface KnownGrab {
  /** The share drawn (position in the envelope's shares). */
  index: number;
  amount: bigint;
  /** Settles (true: committed) once the grab's batch is done; null for a committed grab. */
  committed: Promise<boolean> | null;
}

interface EnvelopeRow {
  id: string;
  group_id: string | null;
  recipient_id: string | null;
  status: EnvelopeStatus;
  shares: bigint[];
  grabbers: string[];
  escrow_account_id: string;
  expires_at: Date;
  created_at: Date;
  [column: string]: unknown;
}

/** Loads envelopes with their grabs (kept in the envelope row, in share order) in one query. */
export async function loadStates(
  executor: Queryable,
  ids: readonly string[],
): Promise<Map<string, EnvelopeState>> {
  const states = new Map<string, EnvelopeState>();
  if (ids.length === 0) return states;
  const { rows } = await executor.query<EnvelopeRow>(
    `SELECT id, group_id, recipient_id, status, shares, grabbers, escrow_account_id, expires_at, created_at
     FROM redpacket_envelopes WHERE id = ANY($1::uuid[])`,
    [ids],
  );
  for (const row of rows) {
    const grabs = new Map<string, KnownGrab>();
    row.grabbers.forEach((userId, index) => {
      grabs.set(userId, { index, amount: row.shares[index]!, committed: null });
    });
    states.set(row.id, {
      id: row.id,
      groupId: row.group_id,
      recipientId: row.recipient_id,
      status: row.status,
      shares: row.shares,
      escrowAccountId: row.escrow_account_id,
      expiresAt: row.expires_at,
      createdAt: row.created_at,
      grabs,
    });
  }
  return states;
}
