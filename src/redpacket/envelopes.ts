import { AccountCodes, accountId, TransferCodes } from '../chart.ts';
import type { Identity, PaymentProof } from '../identity/index.ts';
import { AccountFlags, type Ledger, Ledgers, succeeded } from '../ledger/index.ts';
import type { Clock } from '../platform/clock.ts';
import type { Database } from '../platform/db/database.ts';
import { AppError, conflict, invalid, notFound } from '../platform/errors.ts';
import { deterministicId } from '../platform/ids.ts';
import type { JobQueue } from '../platform/jobs/queue.ts';
import type { Logger } from '../platform/log.ts';
import type { IntegerSource } from '../platform/random.ts';
import type { Groups } from '../social/index.ts';
import { walletAccount } from '../wallet/context.ts';
import type { Wallet } from '../wallet/index.ts';
import { GrabEngine, type GrabEngineOptions, type GrabOutcome } from './grab-engine.ts';
import { type EnvelopeKind, type EnvelopeRules, validateEnvelope } from './rules.ts';
import { luckiestIndex, splitFixed, splitLucky } from './split.ts';
import type { EnvelopeStatus } from './state.ts';

/** The platform's marketing budget: campaign envelopes are paid from it (an expense account, no overdraft flag). */
export const MARKETING_ACCOUNT = accountId('marketingExpense', 'system');
/** The sender shown on campaign envelopes. */
export const CAMPAIGN_SENDER = deterministicId('redpacket.campaign_sender', 'platform');

export interface SendEnvelope {
  /** Deterministic per request (from the Idempotency-Key), so a retried send is the same envelope. */
  envelopeId: string;
  senderId: string;
  groupId?: string;
  recipientId?: string;
  kind: EnvelopeKind;
  /** Total in fen (for fixed envelopes: share amount × shares). */
  total: bigint;
  shares: number;
  greeting: string;
  /** Funding source: 'auto' (balance, then card), 'balance' or 'card'. */
  source?: string;
  proof: PaymentProof;
}

export interface EnvelopeView {
  id: string;
  senderId: string;
  groupId: string | null;
  recipientId: string | null;
  kind: EnvelopeKind;
  total: bigint;
  shareCount: number;
  greeting: string;
  status: EnvelopeStatus;
  grabbedCount: number;
  grabbedAmount: bigint;
  refundAmount: bigint | null;
  createdAt: Date;
  expiresAt: Date;
  finishedAt: Date | null;
  /** Who got what: shown once the viewer has grabbed, is the sender, or the envelope is over. */
  grabs: Array<{ userId: string; amount: bigint; grabbedAt: Date; luckiest: boolean }> | null;
}

interface EnvelopeRow {
  id: string;
  sender_id: string;
  group_id: string | null;
  recipient_id: string | null;
  kind: EnvelopeKind;
  total: bigint;
  shares: bigint[];
  /** Position i: who drew share i. */
  grabbers: string[];
  grabbed_ats: Date[];
  greeting: string;
  status: EnvelopeStatus;
  grabbed_count: number;
  grabbed_amount: bigint;
  refund_amount: bigint | null;
  refund_booked: boolean;
  escrow_account_id: string;
  fund_transfer_id: string;
  funding_source: string;
  created_at: Date;
  expires_at: Date;
  finished_at: Date | null;
  [key: string]: unknown;
}

export interface EnvelopesDeps {
  db: Database;
  clock: Clock;
  ledger: Ledger;
  wallet: Wallet;
  identity: Identity;
  groups: Groups;
  log: Logger;
  random: IntegerSource;
  rules: EnvelopeRules;
  engine?: GrabEngineOptions;
}

/** Red envelopes: send (fund an escrow), grab (GrabEngine), expire and refund. */
export class Envelopes {
  readonly engine: GrabEngine;
  readonly rules: EnvelopeRules;

  constructor(private readonly deps: EnvelopesDeps) {
    this.engine = new GrabEngine(deps, deps.engine);
    this.rules = deps.rules;
  }

  async send(input: SendEnvelope): Promise<EnvelopeView> {
    const existing = await this.row(input.envelopeId);
    if (existing) {
      if (existing.sender_id !== input.senderId)
        throw conflict('envelope_id_taken', 'That envelope id is taken.');
      return this.view(existing, input.senderId);
    }
    const groupSize = await this.checkAudience(input);
    validateEnvelope(
      { kind: input.kind, total: input.total, shares: input.shares, greeting: input.greeting, groupSize },
      this.deps.rules,
    );
    const authorization = await this.deps.identity.authorizePayment({
      userId: input.senderId,
      amount: input.total,
      currency: 'CNY',
      payee: input.groupId ? `group:${input.groupId}` : `user:${input.recipientId}`,
      proof: input.proof,
    });
    const shares =
      input.kind === 'lucky'
        ? splitLucky(input.total, input.shares, this.deps.random, this.deps.rules.shareMinimum)
        : input.kind === 'fixed'
          ? splitFixed(input.total, input.shares)
          : [input.total];
    const escrow = accountId('envelopeEscrow', input.envelopeId);
    const [account] = await this.deps.ledger.createAccounts([
      {
        id: escrow,
        ledger: Ledgers.CNY,
        code: AccountCodes.envelopeEscrow,
        flags: AccountFlags.debits_must_not_exceed_credits,
        userData128: input.envelopeId,
      },
    ]);
    if (!succeeded(account!.result))
      throw new AppError('internal', 'escrow_not_created', `Escrow account: ${account!.result}`);

    const now = this.deps.clock.now();
    const fundTransferId = deterministicId('redpacket.fund', input.envelopeId);
    await this.deps.db.query(
      `INSERT INTO redpacket_envelopes (id, sender_id, group_id, recipient_id, kind, total, shares, greeting, status,
         escrow_account_id, fund_transfer_id, funding_source, created_at, expires_at)
       VALUES ($1, $2, $3, $4, $5, $6, $7, $8, 'funding', $9, $10, $11, $12, $13) ON CONFLICT (id) DO NOTHING`,
      [
        input.envelopeId,
        input.senderId,
        input.groupId ?? null,
        input.recipientId ?? null,
        input.kind,
        input.total,
        shares,
        input.greeting,
        escrow,
        fundTransferId,
        input.source ?? 'auto',
        now,
        new Date(now.getTime() + this.deps.rules.expiryMs),
      ],
    );
    let payment: Awaited<ReturnType<Wallet['pay']>>;
    try {
      payment = await this.deps.wallet.pay({
        paymentId: fundTransferId,
        userId: input.senderId,
        amount: input.total,
        targetAccountId: escrow,
        code: TransferCodes.envelopeFund,
        source: input.source ?? 'auto',
        authorization,
        limitMethod: 'red_envelope',
        notifyKind: 'redpacket.funded',
      });
    } catch (error) {
      if (error instanceof AppError && error.kind !== 'internal' && error.kind !== 'unavailable') {
        await this.markFailed(input.envelopeId);
      }
      throw error;
    }
    if (payment.status === 'completed') await this.activate(input.envelopeId);
    else if (payment.status === 'failed') {
      await this.markFailed(input.envelopeId);
      throw conflict(
        payment.failureReason ?? 'funding_failed',
        'The envelope could not be paid for; nothing was taken.',
      );
    }
    return this.view((await this.row(input.envelopeId))!, input.senderId);
  }

  /**
   * A campaign envelope, paid by the platform's marketing budget instead of a user (operator
   * promotions, and the console's storm). Same escrow, grabs and expiry as any group envelope.
   */
  async sendCampaign(input: {
    envelopeId: string;
    groupId: string;
    total: bigint;
    shares: number;
    greeting: string;
  }): Promise<void> {
    const group = await this.deps.groups.get(input.groupId);
    if (!group) throw notFound('group_not_found', 'No such group.');
    validateEnvelope(
      {
        kind: 'lucky',
        total: input.total,
        shares: input.shares,
        greeting: input.greeting,
        groupSize: group.memberCount,
      },
      this.deps.rules,
    );
    const escrow = accountId('envelopeEscrow', input.envelopeId);
    const accounts = await this.deps.ledger.createAccounts([
      { id: MARKETING_ACCOUNT, ledger: Ledgers.CNY, code: AccountCodes.marketingExpense },
      {
        id: escrow,
        ledger: Ledgers.CNY,
        code: AccountCodes.envelopeEscrow,
        flags: AccountFlags.debits_must_not_exceed_credits,
        userData128: input.envelopeId,
      },
    ]);
    if (!accounts.every((a) => succeeded(a.result)))
      throw new AppError('internal', 'escrow_not_created', 'Escrow account not created');
    const shares = splitLucky(input.total, input.shares, this.deps.random, this.deps.rules.shareMinimum);
    const now = this.deps.clock.now();
    const fundTransferId = deterministicId('redpacket.fund', input.envelopeId);
    await this.deps.db.query(
      `INSERT INTO redpacket_envelopes (id, sender_id, group_id, kind, total, shares, greeting, status,
         escrow_account_id, fund_transfer_id, funding_source, created_at, expires_at)
       VALUES ($1, $2, $3, 'lucky', $4, $5, $6, 'funding', $7, $8, 'campaign', $9, $10) ON CONFLICT (id) DO NOTHING`,
      [
        input.envelopeId,
        CAMPAIGN_SENDER,
        input.groupId,
        input.total,
        shares,
        input.greeting,
        escrow,
        fundTransferId,
        now,
        new Date(now.getTime() + this.deps.rules.expiryMs),
      ],
    );
    const [funded] = await this.deps.ledger.createTransfers([
      {
        id: fundTransferId,
        debitAccountId: MARKETING_ACCOUNT,
        creditAccountId: escrow,
        amount: input.total,
        ledger: Ledgers.CNY,
        code: TransferCodes.envelopeFund,
      },
    ]);
    if (!succeeded(funded!.result)) {
      await this.markFailed(input.envelopeId);
      throw new AppError('internal', 'campaign_not_funded', `Campaign funding refused: ${funded!.result}`);
    }
    await this.activate(input.envelopeId);
  }

  grab(envelopeId: string, userId: string): Promise<GrabOutcome> {
    return this.engine.grab(envelopeId, userId);
  }

  async get(envelopeId: string, viewerId: string | null): Promise<EnvelopeView | null> {
    const row = await this.row(envelopeId);
    return row ? this.view(row, viewerId) : null;
  }

  /** May this user see (and, if eligible, grab) the envelope? For the route's owner check. */
  async audience(envelopeId: string, userId: string): Promise<'eligible' | 'sender' | 'outsider' | null> {
    const row = await this.row(envelopeId);
    if (!row) return null;
    if (row.group_id) {
      if ((await this.deps.groups.roleOf(row.group_id, userId)) !== null) return 'eligible';
    } else if (row.recipient_id === userId) return 'eligible';
    return row.sender_id === userId ? 'sender' : 'outsider';
  }

  /** Activates an envelope whose funding completed, announcing it in its group. */
  async activate(envelopeId: string): Promise<void> {
    const now = this.deps.clock.now();
    await this.deps.db.transaction(async (tx) => {
      const { rows } = await tx.query<EnvelopeRow>(
        `UPDATE redpacket_envelopes SET status = 'active', expires_at = $2
         WHERE id = $1 AND status = 'funding' RETURNING *`,
        [envelopeId, new Date(now.getTime() + this.deps.rules.expiryMs)],
      );
      const row = rows[0];
      if (!row?.group_id) return;
      await this.deps.groups.appendEvents(tx, [
        {
          groupId: row.group_id,
          type: 'envelope.sent',
          actorId: row.sender_id,
          payload: {
            envelope_id: row.id,
            sender_id: row.sender_id,
            kind: row.kind,
            greeting: row.greeting,
            shares: row.shares.length,
          },
        },
      ]);
    });
    this.engine.forget(envelopeId);
  }

  /** The job run once a card-funded envelope's payment completes or fails. */
  async onFunded(paymentId: string, status: string): Promise<void> {
    const { rows } = await this.deps.db.query<{ id: string }>(
      'SELECT id FROM redpacket_envelopes WHERE fund_transfer_id = $1',
      [paymentId],
    );
    const id = rows[0]?.id;
    if (!id) return;
    if (status === 'completed') await this.activate(id);
    else if (status === 'failed') await this.markFailed(id);
  }

  /** Envelopes stuck funding (a lost notification): asks the wallet how their payment ended. */
  async settleFunding(now: Date, olderThanMs = 60_000): Promise<number> {
    const { rows } = await this.deps.db.query<{ id: string; fund_transfer_id: string }>(
      `SELECT id, fund_transfer_id FROM redpacket_envelopes WHERE status = 'funding' AND created_at < $1 ORDER BY created_at LIMIT 200`,
      [new Date(now.getTime() - olderThanMs)],
    );
    for (const row of rows) {
      const payment = await this.deps.wallet.paymentStatus(row.fund_transfer_id);
      if (!payment || payment.status === 'failed') await this.markFailed(row.id);
      else if (payment.status === 'completed') await this.activate(row.id);
    }
    return rows.length;
  }

  /**
   * Expires envelopes past their time and refunds what nobody grabbed to the sender, exactly
   * once: the expiry is one locked update, the refund a ledger transfer with an id derived
   * from the envelope, and a refund interrupted by a crash is finished on the next run.
   */
  async expireDue(now: Date, limit = 500): Promise<{ expired: number; refunded: number }> {
    const due = await this.deps.db.query<{ id: string }>(
      `SELECT id FROM redpacket_envelopes WHERE status = 'active' AND expires_at <= $1 ORDER BY expires_at LIMIT $2`,
      [now, limit],
    );
    let expired = 0;
    for (const { id } of due.rows) if (await this.expire(id, now)) expired++;
    const unrefunded = await this.deps.db.query<{ id: string }>(
      `SELECT id FROM redpacket_envelopes WHERE status = 'expired' AND NOT refund_booked ORDER BY expires_at LIMIT $1`,
      [limit],
    );
    for (const { id } of unrefunded.rows) await this.refund(id);
    return { expired, refunded: unrefunded.rows.length };
  }

  private async expire(envelopeId: string, now: Date): Promise<boolean> {
    const changed = await this.deps.db.transaction(async (tx) => {
      const { rows } = await tx.query<EnvelopeRow>(
        `UPDATE redpacket_envelopes SET status = 'expired', refund_amount = total - grabbed_amount, finished_at = $2
         WHERE id = $1 AND status = 'active' AND expires_at <= $2 RETURNING *`,
        [envelopeId, now],
      );
      const row = rows[0];
      if (!row) return false;
      if (row.group_id) {
        await this.deps.groups.appendEvents(tx, [
          {
            groupId: row.group_id,
            type: 'envelope.refunded',
            actorId: null,
            payload: {
              envelope_id: row.id,
              amount: (row.refund_amount ?? 0n).toString(),
              sender_id: row.sender_id,
            },
          },
        ]);
      }
      return true;
    });
    this.engine.forget(envelopeId);
    return changed;
  }

  private async refund(envelopeId: string): Promise<void> {
    // Grabs commit with their payouts, so once expired the escrow holds exactly the refund.
    const row = (await this.row(envelopeId))!;
    const amount = row.refund_amount ?? 0n;
    if (amount > 0n) {
      // Campaign envelopes return to the marketing budget; others to the sender's wallet.
      const target = row.funding_source === 'campaign' ? MARKETING_ACCOUNT : walletAccount(row.sender_id);
      if (row.funding_source !== 'campaign') await this.deps.wallet.accounts.wallets([row.sender_id]);
      const [result] = await this.deps.ledger.createTransfers([
        {
          id: deterministicId('redpacket.refund', envelopeId),
          debitAccountId: row.escrow_account_id,
          creditAccountId: target,
          amount,
          ledger: Ledgers.CNY,
          code: TransferCodes.envelopeRefund,
        },
      ]);
      if (!succeeded(result!.result)) {
        throw new AppError(
          'internal',
          'refund_failed',
          `Refund of envelope ${envelopeId} refused: ${result!.result}`,
        );
      }
    }
    await this.deps.db.query('UPDATE redpacket_envelopes SET refund_booked = true WHERE id = $1', [
      envelopeId,
    ]);
  }

  registerJobs(jobs: JobQueue): void {
    jobs.register(
      'redpacket.expire',
      async () => {
        await this.expireDue(this.deps.clock.now());
      },
      { mode: 'leased' },
    );
    jobs.schedule({ name: 'redpacket-expire', cron: '*/30 * * * * *', kind: 'redpacket.expire' });
    // Card-funded envelopes whose bank notification was lost.
    jobs.register(
      'redpacket.sweep',
      async () => {
        await this.settleFunding(this.deps.clock.now());
      },
      { mode: 'leased' },
    );
    jobs.schedule({
      name: 'redpacket-sweep',
      cron: '*/15 * * * * *',
      kind: 'redpacket.sweep',
    });
    jobs.register<{ payment_id: string; status: string }>(
      'redpacket.funded',
      async (job) => {
        await this.onFunded(job.payload.payment_id, job.payload.status);
      },
      { mode: 'leased' },
    );
  }

  private async checkAudience(input: SendEnvelope): Promise<number | undefined> {
    if ((input.groupId === undefined) === (input.recipientId === undefined)) {
      throw invalid(
        'envelope_target_required',
        'Send the envelope either to a group (group_id) or to one person (recipient_id).',
      );
    }
    if (input.groupId) {
      if (input.kind === 'personal') throw invalid('invalid_kind', 'A group envelope is lucky or fixed.');
      const group = await this.deps.groups.get(input.groupId);
      if (!group || (await this.deps.groups.roleOf(group.id, input.senderId)) === null)
        throw notFound('group_not_found', 'No such group.');
      return group.memberCount;
    }
    if (input.kind !== 'personal')
      throw invalid('invalid_kind', 'An envelope to one person is of kind personal.');
    if (input.recipientId === input.senderId)
      throw invalid('cannot_send_to_self', 'Send the envelope to someone else.');
    if (!(await this.deps.identity.getUser(input.recipientId!)))
      throw notFound('recipient_not_found', 'No such user.');
    return undefined;
  }

  private async markFailed(envelopeId: string): Promise<void> {
    await this.deps.db.query(
      "UPDATE redpacket_envelopes SET status = 'failed' WHERE id = $1 AND status = 'funding'",
      [envelopeId],
    );
  }

  private async row(envelopeId: string): Promise<EnvelopeRow | undefined> {
    const { rows } = await this.deps.db.query<EnvelopeRow>(
      'SELECT * FROM redpacket_envelopes WHERE id = $1',
      [envelopeId],
    );
    return rows[0];
  }

  private async view(row: EnvelopeRow, viewerId: string | null): Promise<EnvelopeView> {
    const over = row.status === 'finished' || row.status === 'expired';
    const mayList =
      over || viewerId === null || viewerId === row.sender_id || row.grabbers.includes(viewerId);
    const luckiest = row.status === 'finished' ? luckiestIndex(row.shares) : -1;
    return {
      id: row.id,
      senderId: row.sender_id,
      groupId: row.group_id,
      recipientId: row.recipient_id,
      kind: row.kind,
      total: row.total,
      shareCount: row.shares.length,
      greeting: row.greeting,
      status: row.status,
      grabbedCount: row.grabbed_count,
      grabbedAmount: row.grabbed_amount,
      refundAmount: row.refund_amount,
      createdAt: row.created_at,
      expiresAt: row.expires_at,
      finishedAt: row.finished_at,
      grabs: mayList
        ? row.grabbers.map((userId, index) => ({
            userId,
            amount: row.shares[index]!,
            grabbedAt: row.grabbed_ats[index]!,
            luckiest: index === luckiest,
          }))
        : null,
    };
  }
}
