/**
 * Daily reconciliation of the bank's statement against what the ledger recorded, as a pure
 * function: both sides in, a list of discrepancies out. The job around it loads the inputs,
 * applies the resolutions the rules allow, and queues the rest for operators.
 */
export type Direction = 'debit' | 'credit'; // debit: the bank took money from a card (top-up)

export interface StatementLine {
  /** Our request id, echoed by the bank. */
  requestId: string;
  bankReference: string;
  direction: Direction;
  amount: bigint;
  status: 'succeeded' | 'failed';
}

export interface LedgerRecord {
  requestId: string;
  direction: Direction;
  amount: bigint;
  /** What the wallet concluded from callbacks or polling. */
  state: 'succeeded' | 'failed' | 'pending';
}

export type Discrepancy =
  /** The bank settled it, but we show it failed or still pending. */
  | { kind: 'missing_in_ledger'; requestId: string; line: StatementLine; ledger: LedgerRecord | null }
  /** We booked it as succeeded, but the bank's statement does not have it as succeeded. */
  | { kind: 'missing_in_statement'; requestId: string; ledger: LedgerRecord }
  | { kind: 'amount_mismatch'; requestId: string; line: StatementLine; ledger: LedgerRecord }
  | { kind: 'direction_mismatch'; requestId: string; line: StatementLine; ledger: LedgerRecord }
  | { kind: 'duplicate_in_statement'; requestId: string; lines: StatementLine[] };

export interface Resolution {
  discrepancy: Discrepancy;
  /** What the rules allow without a person, or 'review' for the operator queue. */
  action: 'post_pending' | 'void_pending' | 'review';
}

/** Each discrepancy is reported exactly once, in request-id order (stable output). */
export function reconcile(
  statement: readonly StatementLine[],
  ledger: readonly LedgerRecord[],
): Discrepancy[] {
  const linesById = new Map<string, StatementLine[]>();
  for (const line of statement) {
    const lines = linesById.get(line.requestId);
    if (lines) lines.push(line);
    else linesById.set(line.requestId, [line]);
  }
  const ledgerById = new Map(ledger.map((record) => [record.requestId, record]));
  const ids = [...new Set([...linesById.keys(), ...ledgerById.keys()])].sort();
  const found: Discrepancy[] = [];
  for (const requestId of ids) {
    const lines = linesById.get(requestId) ?? [];
    const record = ledgerById.get(requestId) ?? null;
    if (lines.length > 1) {
      found.push({ kind: 'duplicate_in_statement', requestId, lines });
      continue;
    }
    const line = lines[0];
    const settled = line?.status === 'succeeded';
    if (!line || !settled) {
      if (record?.state === 'succeeded')
        found.push({ kind: 'missing_in_statement', requestId, ledger: record });
      continue;
    }
    if (record?.state !== 'succeeded') {
      if (record && record.amount !== line.amount)
        found.push({ kind: 'amount_mismatch', requestId, line, ledger: record });
      else found.push({ kind: 'missing_in_ledger', requestId, line, ledger: record });
      continue;
    }
    if (record.direction !== line.direction)
      found.push({ kind: 'direction_mismatch', requestId, line, ledger: record });
    else if (record.amount !== line.amount)
      found.push({ kind: 'amount_mismatch', requestId, line, ledger: record });
  }
  return found;
}

/**
 * What may be fixed automatically: a transfer still pending on our side that the bank says
 * settled with the same amount and direction is posted (its callback was lost). Everything
 * else touches money already booked and goes to a person.
 */
export function resolve(discrepancy: Discrepancy): Resolution {
  if (
    discrepancy.kind === 'missing_in_ledger' &&
    discrepancy.ledger?.state === 'pending' &&
    discrepancy.ledger.amount === discrepancy.line.amount &&
    discrepancy.ledger.direction === discrepancy.line.direction
  ) {
    return { discrepancy, action: 'post_pending' };
  }
  return { discrepancy, action: 'review' };
}
