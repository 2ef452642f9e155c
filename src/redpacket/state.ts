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
