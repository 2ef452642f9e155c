import {
  availableBalance,
  type Ledger,
  type PendingStatus,
  type Transfer,
  TransferFlags,
} from '../ledger/index.ts';
import type { ChartOfAccounts } from '../platform/chart.ts';
import { invalid, notFound } from '../platform/errors.ts';
import type { BankOperations } from './bank-operations.ts';
import { WalletTransfers } from './chart.ts';
import { walletAccount } from './context.ts';
import { dateToNs, nsToDate } from './rules.ts';
import type { FriendTransfers } from './transfers.ts';

/**
 * Statements are read from the ledger (the user's wallet account history), so they can
 * never disagree with the balance; the wallet's rows only add context (memo, counterparty,
 * card). A pending transfer and its later post/void show as one item whose status is the
 * pending transfer's live state.
 */
export interface StatementItem {
  id: string;
  /** What the transfer was, as its owning module labels it (src/platform/chart.ts). */
  type: string;
  direction: 'in' | 'out';
  amount: string;
  currency: 'CNY';
  /** posted: in the balance. pending: held or on its way. voided/expired: nothing moved. */
  status: 'posted' | PendingStatus;
  created_at: string;
  counterparty: string | null;
  memo: string | null;
}

export interface StatementQuery {
  cursor?: string;
  limit?: number;
  types?: readonly string[];
  direction?: 'in' | 'out';
  from?: Date;
  to?: Date;
}

export interface StatementPage {
  items: StatementItem[];
  /** Pass as `cursor` for the next page; null at the end. A page may be short when filters skip many entries. */
  next_cursor: string | null;
}

const STATEMENT_PAGE_MAX = 200;
/** Ledger entries examined per page at most, so a selective filter cannot make one request unbounded. */
const SCAN_MAX = 5000;

export function balanceView(
  account:
    | { creditsPosted: bigint; debitsPosted: bigint; debitsPending: bigint; creditsPending: bigint }
    | undefined,
) {
  const zero = { creditsPosted: 0n, debitsPosted: 0n, debitsPending: 0n, creditsPending: 0n };
  const a = account ?? zero;
  return {
    currency: 'CNY',
    /** What the user can spend now. */
    available: availableBalance(a, 'credit').toString(),
    /** Posted balance, including money held for withdrawals. */
    balance: (a.creditsPosted - a.debitsPosted).toString(),
    /** Held for withdrawals in progress. */
    held: a.debitsPending.toString(),
    /** Top-ups on their way in. */
    incoming: a.creditsPending.toString(),
  };
}

export class Statements {
  constructor(
    private readonly ledger: Ledger,
    private readonly transfers: FriendTransfers,
    private readonly operations: BankOperations,
    private readonly chart: ChartOfAccounts,
  ) {}

  async page(userId: string, query: StatementQuery = {}): Promise<StatementPage> {
    const limit = query.limit ?? 50;
    if (!Number.isInteger(limit) || limit < 1 || limit > STATEMENT_PAGE_MAX) {
      throw invalid('invalid_limit', `limit must be 1 to ${STATEMENT_PAGE_MAX}`);
    }
    const account = walletAccount(userId);
    let after = query.cursor !== undefined ? parseCursor(query.cursor) : 0n;
    if (query.from) after = maxBigint(after, dateToNs(query.from) - 1n);
    const toNs = query.to ? dateToNs(query.to) : null;
    const picked: Transfer[] = [];
    let scanned = 0;
    let cursor = after;
    let more = true;
    while (more && picked.length < limit && scanned < SCAN_MAX) {
      const page = await this.ledger.getAccountHistory(account, {
        after: cursor,
        limit: Math.min(1000, limit * 4),
      });
      more = page.nextCursor !== null;
      for (const [index, transfer] of page.transfers.entries()) {
        if (toNs !== null && transfer.timestamp >= toNs) {
          more = false;
          break;
        }
        scanned++;
        cursor = transfer.timestamp;
        if (index === page.transfers.length - 1) more = page.nextCursor !== null;
        else more = true;
        // Posts and voids resolve an earlier pending item; they are not items themselves.
        if (transfer.pendingId !== null) continue;
        const direction = transfer.creditAccountId === account ? 'in' : 'out';
        if (query.direction && direction !== query.direction) continue;
        if (query.types && !query.types.includes(this.chart.statementLabel(transfer.code))) continue;
        picked.push(transfer);
        if (picked.length === limit) break;
      }
    }
    const items = await this.describe(account, picked);
    return { items, next_cursor: more ? String(cursor) : null };
  }

  /** One item with its context, or 404 when it is not on this user's wallet. */
  async item(userId: string, itemId: string) {
    const account = walletAccount(userId);
    const [transfer] = await this.ledger.lookupTransfers([itemId]);
    if (!transfer || (transfer.debitAccountId !== account && transfer.creditAccountId !== account)) {
      throw notFound('statement_item_not_found', 'No such item on your statement.');
    }
    const [item] = await this.describe(account, [transfer]);
    const friend = (await this.transfers.byLedgerIds([itemId])).get(itemId);
    const operation = await this.operations.get(itemId);
    return {
      ...item!,
      transfer: friend
        ? {
            id: friend.id,
            status: friend.state,
            sender_id: friend.senderId,
            recipient_id: friend.recipientId,
          }
        : null,
      bank_operation: operation
        ? {
            id: operation.id,
            kind: operation.kind,
            status: operation.state,
            card_id: operation.cardId,
            fee: operation.fee.toString(),
            failure_reason: operation.failureReason,
            bank_reference: operation.bankReference,
          }
        : null,
    };
  }

  private async describe(account: string, transfers: readonly Transfer[]): Promise<StatementItem[]> {
    const ids = transfers.map((t) => t.id);
    const pendingIds = transfers.filter((t) => (t.flags & TransferFlags.pending) !== 0).map((t) => t.id);
    const [friends, pendings] = await Promise.all([
      this.transfers.byLedgerIds(ids),
      pendingIds.length ? this.ledger.lookupPending(pendingIds) : Promise.resolve(new Map()),
    ]);
    return transfers.map((transfer) => {
      const direction = transfer.creditAccountId === account ? 'in' : 'out';
      const friend = friends.get(transfer.id);
      const counterparty = friend
        ? direction === 'in'
          ? transfer.code === WalletTransfers.friendTransferReturn
            ? null
            : `user:${friend.senderId}`
          : `user:${friend.recipientId}`
        : null;
      return {
        id: transfer.id,
        type: this.chart.statementLabel(transfer.code),
        direction,
        amount: transfer.amount.toString(),
        currency: 'CNY',
        status:
          (transfer.flags & TransferFlags.pending) !== 0
            ? (pendings.get(transfer.id)?.status ?? 'pending')
            : 'posted',
        created_at: nsToDate(transfer.timestamp).toISOString(),
        counterparty,
        memo: friend?.memo || null,
      } satisfies StatementItem;
    });
  }
}

function parseCursor(cursor: string): bigint {
  if (!/^[0-9]{1,20}$/.test(cursor))
    throw invalid('invalid_cursor', 'cursor must be a value returned as next_cursor.');
  return BigInt(cursor);
}

function maxBigint(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}
