import type { Queryable } from '../platform/db/database.ts';

/** What the grab path needs to know about an envelope, cached in memory per process. */
export interface EnvelopeState {
  id: string;
  senderId: string;
  groupId: string | null;
  recipientId: string | null;
  status: EnvelopeStatus;
  shares: bigint[];
  escrowAccountId: string;
  expiresAt: Date;
  /** Grabs known to this process, by user. */
  grabs: Map<string, KnownGrab>;
}

export type EnvelopeStatus = 'funding' | 'active' | 'finished' | 'expired' | 'failed';

export interface KnownGrab {
  index: number;
  amount: bigint;
  transferId: string;
  /** Known in this process to be in the ledger; grabs loaded from the database are re-submitted (idempotent). */
  booked: boolean;
}

interface EnvelopeRow {
  id: string;
  sender_id: string;
  group_id: string | null;
  recipient_id: string | null;
  status: EnvelopeStatus;
  shares: bigint[];
  escrow_account_id: string;
  expires_at: Date;
  [key: string]: unknown;
}

/** Loads envelopes and all their grabs, in two queries whatever the count. */
export async function loadStates(
  executor: Queryable,
  ids: readonly string[],
): Promise<Map<string, EnvelopeState>> {
  const states = new Map<string, EnvelopeState>();
  if (ids.length === 0) return states;
  const envelopes = await executor.query<EnvelopeRow>(
    `SELECT id, sender_id, group_id, recipient_id, status, shares, escrow_account_id, expires_at
     FROM redpacket_envelopes WHERE id = ANY($1::uuid[])`,
    [ids],
  );
  for (const row of envelopes.rows) {
    states.set(row.id, {
      id: row.id,
      senderId: row.sender_id,
      groupId: row.group_id,
      recipientId: row.recipient_id,
      status: row.status,
      shares: row.shares,
      escrowAccountId: row.escrow_account_id,
      expiresAt: row.expires_at,
      grabs: new Map(),
    });
  }
  await loadGrabsInto(executor, states);
  return states;
}

/** Replaces the cached grabs of these envelopes with what the database holds. */
export async function loadGrabsInto(executor: Queryable, states: Map<string, EnvelopeState>): Promise<void> {
  if (states.size === 0) return;
  for (const state of states.values()) state.grabs.clear();
  const grabs = await executor.query<{
    envelope_id: string;
    user_id: string;
    share_index: number;
    amount: bigint;
    transfer_id: string;
  }>(
    'SELECT envelope_id, user_id, share_index, amount, transfer_id FROM redpacket_grabs WHERE envelope_id = ANY($1::uuid[])',
    [[...states.keys()]],
  );
  for (const row of grabs.rows) {
    states.get(row.envelope_id)?.grabs.set(row.user_id, {
      index: row.share_index,
      amount: row.amount,
      transferId: row.transfer_id,
      booked: false,
    });
  }
}
