import { createHash } from 'node:crypto';
import type { Account, Transfer } from './types.ts';

/**
 * The journal's canonical encoding. Each committed batch appends one row whose hash is
 * sha256(prev_hash || lines), where lines are the batch's applied events, one per line,
 * ordered by timestamp. `verify` rebuilds the lines from the stored rows, so editing any
 * journaled field of an account, transfer or expiry breaks the chain.
 */
export type JournalEvent =
  | {
      kind: 'account';
      account: Omit<
        Account,
        'debitsPending' | 'debitsPosted' | 'creditsPending' | 'creditsPosted' | 'closed'
      >;
    }
  | { kind: 'transfer'; transfer: Transfer }
  | { kind: 'expiry'; pendingId: string; timestamp: bigint }
  /** A transfer id burned by a transient failure (`id_already_failed` from then on). */
  | { kind: 'failure'; id: string; result: string; timestamp: bigint };

export const GENESIS_HASH = Buffer.alloc(32);

export function eventTimestamp(event: JournalEvent): bigint {
  if (event.kind === 'account') return event.account.timestamp;
  if (event.kind === 'transfer') return event.transfer.timestamp;
  return event.timestamp;
}

export function encodeEvent(event: JournalEvent): string {
  if (event.kind === 'account') {
    const a = event.account;
    return `A|${a.id}|${a.ledger}|${a.code}|${a.flags}|${a.userData128 ?? ''}|${a.userData64}|${a.userData32}|${a.timestamp}\n`;
  }
  if (event.kind === 'transfer') {
    const t = event.transfer;
    return (
      `T|${t.id}|${t.debitAccountId}|${t.creditAccountId}|${t.amount}|${t.pendingId ?? ''}|${t.ledger}|${t.code}|` +
      `${t.flags}|${t.timeout}|${t.userData128 ?? ''}|${t.userData64}|${t.userData32}|${t.timestamp}\n`
    );
  }
  if (event.kind === 'failure') return `F|${event.id}|${event.result}|${event.timestamp}\n`;
  return `X|${event.pendingId}|${event.timestamp}\n`;
}

/** Hash of one batch; `events` must already be sorted by timestamp. */
export function batchHash(previousHash: Uint8Array, events: readonly JournalEvent[]): Buffer {
  const hash = createHash('sha256');
  hash.update(previousHash);
  // One update per chunk of lines: far cheaper than one per event.
  for (let start = 0; start < events.length; start += 1024) {
    let text = '';
    for (const event of events.slice(start, start + 1024)) text += encodeEvent(event);
    hash.update(text);
  }
  return hash.digest();
}
