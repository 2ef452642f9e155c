import type { Identity, PaymentProof } from '../identity/index.ts';
import { AccountFlags, type Ledger, Ledgers, succeeded } from '../ledger/index.ts';
import { accountId, SYSTEM_OWNER } from '../platform/chart.ts';
import type { Clock } from '../platform/clock.ts';
import { crashPoint } from '../platform/crash-points.ts';
import type { Database } from '../platform/db/database.ts';
import { AppError, conflict, invalid, notFound } from '../platform/errors.ts';
import { runFlow } from '../platform/flow.ts';
import { deterministicId } from '../platform/ids.ts';
import type { Logger } from '../platform/log.ts';
import type { JobDefinition } from '../platform/module.ts';
import type { IntegerSource } from '../platform/random.ts';
import type { Groups } from '../social/index.ts';
import { type PayResult, type Wallet, walletAccount } from '../wallet/index.ts';
import { RedpacketAccounts, RedpacketTransfers } from './chart.ts';
import { GrabEngine, type GrabEngineOptions, type GrabOutcome } from './grab-engine.ts';
import {
  type CampaignRules,
  DEFAULT_CAMPAIGN_RULES,
  type EnvelopeKind,
  type EnvelopeRules,
  validateCampaignEnvelope,
  validateEnvelope,
} from './rules.ts';
import { luckiestIndex, splitFixed, splitLucky } from './split.ts';
import type { EnvelopeStatus } from './state.ts';
import type { EnvelopeRow } from './store.ts';
import * as store from './store.ts';

/** The platform's marketing budget: campaign envelopes are paid from it (an expense account, no overdraft flag). */
const MARKETING_ACCOUNT = accountId('marketingExpense', SYSTEM_OWNER);
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
  /**
   * How much has been grabbed so far: null for a member who has not grabbed while the envelope is
   * still open, since polling it between grabs would reveal each share.
   */
  grabbedAmount: bigint | null;
  refundAmount: bigint | null;
  createdAt: Date;
  expiresAt: Date;
  finishedAt: Date | null;
  /** Who got what: shown once the viewer has grabbed, is the sender, or the envelope is over. */
  grabs: Array<{ userId: string; amount: bigint; grabbedAt: Date; luckiest: boolean }> | null;
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
  /** Campaign envelopes' rules (DOMAIN.md); the defaults when absent. */
  campaignRules?: CampaignRules;
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

  private get campaignRules(): CampaignRules {
    return this.deps.campaignRules ?? DEFAULT_CAMPAIGN_RULES;
  }

  async send(input: SendEnvelope): Promise<EnvelopeView> {
    const existing = await this.row(input.envelopeId);
    if (existing) {
      this.assertSameEnvelope(existing, input);
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
    const fundTransferId = deterministicId('redpacket.fund', input.envelopeId);
    // Open the escrow, record the envelope, fund it: a refused payment fails the envelope (its
    // compensation); a fault (5xx) leaves it 'funding' for the sweep to settle either way.
    await runFlow<{ payment?: PayResult; recordedHere?: boolean }>('redpacket.send', {}, [
      { name: 'open the escrow', run: () => this.openEscrow(escrow, input.envelopeId) },
      {
        name: 'record the envelope',
        run: async () => {
          const now = this.deps.clock.now();
          const recordedHere = await store.insertEnvelope(this.deps.db, {
            id: input.envelopeId,
            senderId: input.senderId,
            groupId: input.groupId ?? null,
            recipientId: input.recipientId ?? null,
            kind: input.kind,
            total: input.total,
            shares,
            greeting: input.greeting,
            escrowAccountId: escrow,
            fundTransferId,
            fundingSource: input.source ?? 'auto',
            createdAt: now,
            expiresAt: new Date(now.getTime() + this.deps.rules.expiryMs),
          });
          // A concurrent send of the same id recorded it first: go on only if it is this envelope.
          if (!recordedHere) this.assertSameEnvelope((await this.row(input.envelopeId))!, input);
          crashPoint('redpacket.send.after-record');
          return { recordedHere };
        },
        // Only the send that recorded the envelope fails it, and only when its payment did not
        // happen (a concurrent duplicate's refusal must not fail an envelope another call paid).
        compensate: async ({ recordedHere }, cause) => {
          if (!recordedHere) return;
          if (!(cause instanceof AppError) || cause.kind === 'internal' || cause.kind === 'unavailable')
            return;
          const payment = await this.deps.wallet.paymentStatus(fundTransferId);
          if (payment && payment.status !== 'failed') return;
          await this.markFailed(input.envelopeId);
        },
      },
      {
        name: 'pay into the escrow',
        run: async () => {
          const payment = await this.deps.wallet.pay({
            paymentId: fundTransferId,
            userId: input.senderId,
            amount: input.total,
            targetAccountId: escrow,
            code: RedpacketTransfers.envelopeFund,
            source: input.source ?? 'auto',
            authorization,
            limitMethod: 'red_envelope',
            notifyKind: 'redpacket.funded',
          });
          crashPoint('redpacket.send.after-pay');
          if (payment.status === 'failed')
            throw conflict(
              payment.failureReason ?? 'funding_failed',
              'The envelope could not be paid for; nothing was taken.',
            );
          return { payment };
        },
      },
      {
        name: 'open it to grabs',
        // A card payment still pending activates later, from the 'redpacket.funded' job.
        run: async ({ payment }) => {
          if (payment?.status === 'completed') await this.funded(input.envelopeId);
        },
      },
    ]);
    return this.view((await this.row(input.envelopeId))!, input.senderId);
  }

  /** The envelope's escrow account: it can never pay out more than was paid in. */
  private async openEscrow(escrow: string, envelopeId: string): Promise<void> {
    const [account] = await this.deps.ledger.createAccounts([
      {
        id: escrow,
        ledger: Ledgers.CNY,
        code: RedpacketAccounts.envelopeEscrow,
        flags: AccountFlags.debits_must_not_exceed_credits,
        userData128: envelopeId,
      },
    ]);
    if (!succeeded(account!.result))
      throw new AppError('internal', 'escrow_not_created', `Escrow account: ${account!.result}`);
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
    const campaign = this.campaignRules;
    const now = this.deps.clock.now();
    // The rate limit counts what was sent before: concurrent sends may pass it together (it
    // paces campaigns, it guards no money: the budget account pays each envelope in full).
    const sentLastHour = await store.campaignEnvelopesSince(
      this.deps.db,
      CAMPAIGN_SENDER,
      input.groupId,
      new Date(now.getTime() - 3_600_000),
    );
    validateCampaignEnvelope(
      { total: input.total, shares: input.shares, greeting: input.greeting, groupSize: group.memberCount },
      sentLastHour,
      this.deps.rules,
      campaign,
    );
    const escrow = accountId('envelopeEscrow', input.envelopeId);
    const accounts = await this.deps.ledger.createAccounts([
      { id: MARKETING_ACCOUNT, ledger: Ledgers.CNY, code: RedpacketAccounts.marketingExpense },
      {
        id: escrow,
        ledger: Ledgers.CNY,
        code: RedpacketAccounts.envelopeEscrow,
        flags: AccountFlags.debits_must_not_exceed_credits,
        userData128: input.envelopeId,
      },
    ]);
    if (!accounts.every((a) => succeeded(a.result)))
      throw new AppError('internal', 'escrow_not_created', 'Escrow account not created');
    const shares = splitLucky(input.total, input.shares, this.deps.random, this.deps.rules.shareMinimum);
    const fundTransferId = deterministicId('redpacket.fund', input.envelopeId);
    await store.insertEnvelope(this.deps.db, {
      id: input.envelopeId,
      senderId: CAMPAIGN_SENDER,
      groupId: input.groupId,
      recipientId: null,
      kind: 'lucky',
      total: input.total,
      shares,
      greeting: input.greeting,
      escrowAccountId: escrow,
      fundTransferId,
      fundingSource: 'campaign',
      createdAt: now,
      expiresAt: new Date(now.getTime() + campaign.expiryMs),
    });
    const [funded] = await this.deps.ledger.createTransfers([
      {
        id: fundTransferId,
        debitAccountId: MARKETING_ACCOUNT,
        creditAccountId: escrow,
        amount: input.total,
        ledger: Ledgers.CNY,
        code: RedpacketTransfers.envelopeFund,
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
      const row = await store.activateEnvelope(tx, envelopeId, {
        expiresAt: new Date(now.getTime() + this.deps.rules.expiryMs),
        campaignExpiresAt: new Date(now.getTime() + this.campaignRules.expiryMs),
      });
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
    const id = await store.envelopeIdByFunding(this.deps.db, paymentId);
    if (!id) return;
    if (status === 'completed') await this.funded(id);
    else if (status === 'failed') await this.failed(id);
  }

  /**
   * The envelope's payment completed: a funding envelope opens to grabs; one already failed
   * (its payment committed after the sweep gave up on it) refunds the whole escrow to the
   * sender, exactly once (the refund's id is f(envelope), the same as an expiry refund's).
   */
  private async funded(envelopeId: string): Promise<void> {
    await this.activate(envelopeId);
    if ((await this.row(envelopeId))?.status !== 'failed') return;
    await store.refundFailedEnvelope(this.deps.db, envelopeId);
    const row = (await this.row(envelopeId))!;
    if (row.refund_amount !== null && !row.refund_booked) await this.refund(envelopeId);
  }

  /** The envelope's payment failed (nothing moved): failed, and settled with nothing to refund. */
  private async failed(envelopeId: string): Promise<void> {
    await this.markFailed(envelopeId);
    await store.closeFailedEnvelope(this.deps.db, envelopeId, this.deps.clock.now());
  }

  /**
   * The sweep, for lost notifications and late payments: envelopes funding for longer than
   * `olderThanMs` are activated or failed on their payment's outcome (a payment not even
   * started by then fails the envelope); failed envelopes are settled once their payment is
   * known: a payment that completed after all is refunded (never stranded), one that failed
   * or never started (after `abandonedAfterMs`, when no send can still be paying) settles
   * with nothing to refund. A pending payment is left for its bank to settle.
   */
  async settleFunding(now: Date, olderThanMs = 60_000, abandonedAfterMs = 3_600_000): Promise<number> {
    const rows = await store.envelopesStillFunding(this.deps.db, new Date(now.getTime() - olderThanMs));
    for (const row of rows) {
      const payment = await this.deps.wallet.paymentStatus(row.fund_transfer_id);
      if (!payment) await this.markFailed(row.id);
      else if (payment.status === 'failed') await this.failed(row.id);
      else if (payment.status === 'completed') await this.funded(row.id);
    }
    const failed = await store.failedEnvelopesUnsettled(this.deps.db, 200);
    for (const row of failed) {
      if (row.refund_amount !== null) {
        await this.refund(row.id); // a refund decided, interrupted before it was booked
        continue;
      }
      const payment = await this.deps.wallet.paymentStatus(row.fund_transfer_id);
      if (payment?.status === 'completed') await this.funded(row.id);
      else if (payment?.status === 'failed')
        await store.closeFailedEnvelope(this.deps.db, row.id, this.deps.clock.now());
      else if (!payment && now.getTime() - row.created_at.getTime() > abandonedAfterMs) {
        // No send can still be paying: a send killed after reserving its limits gives them back.
        await this.deps.wallet.abandonPayment(row.fund_transfer_id, {
          userId: row.sender_id,
          targetAccountId: accountId('envelopeEscrow', row.id),
        });
        await store.closeFailedEnvelope(this.deps.db, row.id, this.deps.clock.now());
      }
    }
    return rows.length + failed.length;
  }

  /**
   * Expires envelopes past their time and refunds what nobody grabbed to the sender, exactly
   * once: the expiry is one locked update, the refund a ledger transfer with an id derived
   * from the envelope, and a refund interrupted by a crash is finished on the next run.
   */
  async expireDue(now: Date, limit = 500): Promise<{ expired: number; refunded: number }> {
    let expired = 0;
    for (const id of await store.envelopesDue(this.deps.db, now, limit)) {
      if (await this.expire(id, now)) expired++;
      crashPoint('redpacket.refund.after-expire');
    }
    const unrefunded = await store.envelopesUnrefunded(this.deps.db, limit);
    for (const id of unrefunded) await this.refund(id);
    return { expired, refunded: unrefunded.length };
  }

  private async expire(envelopeId: string, now: Date): Promise<boolean> {
    const changed = await this.deps.db.transaction(async (tx) => {
      const row = await store.expireEnvelope(tx, envelopeId, now);
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
          code: RedpacketTransfers.envelopeRefund,
        },
      ]);
      if (!succeeded(result!.result)) {
        throw new AppError(
          'internal',
          'refund_failed',
          `Refund of envelope ${envelopeId} refused: ${result!.result}`,
        );
      }
      crashPoint('redpacket.refund.after-transfer');
    }
    await store.markRefundBooked(this.deps.db, envelopeId, this.deps.clock.now());
  }

  /** Expiry refunds, a sweep for card-funded envelopes whose bank notice was lost, and the funding notice. */
  jobs(): JobDefinition[] {
    return [
      {
        kind: 'redpacket.expire',
        run: async () => void (await this.expireDue(this.deps.clock.now())),
        options: { mode: 'leased' },
        schedule: { name: 'redpacket-expire', cron: '*/30 * * * * *' },
      },
      {
        kind: 'redpacket.sweep',
        run: async () => void (await this.settleFunding(this.deps.clock.now())),
        options: { mode: 'leased' },
        schedule: { name: 'redpacket-sweep', cron: '*/15 * * * * *' },
      },
      {
        kind: 'redpacket.funded',
        run: async (job: { payload: { payment_id: string; status: string } }) => {
          await this.onFunded(job.payload.payment_id, job.payload.status);
        },
        options: { mode: 'leased' },
      },
    ];
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

  /** A send under an existing envelope id must be that envelope (a retry), or it is refused. */
  private assertSameEnvelope(row: EnvelopeRow, input: SendEnvelope): void {
    if (row.sender_id !== input.senderId) throw conflict('envelope_id_taken', 'That envelope id is taken.');
    if (
      row.total !== input.total ||
      row.kind !== input.kind ||
      row.shares.length !== input.shares ||
      (row.group_id ?? undefined) !== input.groupId ||
      (row.recipient_id ?? undefined) !== input.recipientId
    ) {
      throw conflict(
        'envelope_exists_with_different_fields',
        'This envelope id was already used for a different envelope.',
      );
    }
  }

  private async markFailed(envelopeId: string): Promise<void> {
    await store.markEnvelopeFailed(this.deps.db, envelopeId);
  }

  private row(envelopeId: string): Promise<EnvelopeRow | undefined> {
    return store.getEnvelope(this.deps.db, envelopeId);
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
      grabbedAmount: mayList ? row.grabbed_amount : null,
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
