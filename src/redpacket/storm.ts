import { randomUUID } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import type { Clock } from '../platform/clock.ts';
import { invalid } from '../platform/errors.ts';
import type { Logger } from '../platform/log.ts';
import type { Groups } from '../social/index.ts';
import type { Wallet } from '../wallet/index.ts';
import { CAMPAIGN_SENDER, type Envelopes } from './envelopes.ts';

/**
 * A bounded red-envelope storm an operator can start from the console, to watch the platform
 * under load: synthetic grabbers join a storm group, the marketing budget sends campaign
 * envelopes, and every grabber grabs every envelope at once. Runs in this process; its
 * progress is kept in memory (the last few storms).
 */
export const STORM_LIMITS = { envelopes: 500, shares: 100, grabbers: 500 } as const;

export interface StormRequest {
  envelopes: number;
  shares: number;
  grabbers: number;
}

export interface StormStatus {
  id: string;
  state: 'preparing' | 'grabbing' | 'finished' | 'failed';
  request: StormRequest;
  groupId: string | null;
  envelopesSent: number;
  attempts: number;
  grabbed: number;
  grabbedAmount: bigint;
  grabsPerSecond: number;
  startedAt: Date;
  finishedAt: Date | null;
  error: string | null;
}

export class StormRunner {
  private readonly storms = new Map<string, StormStatus>();

  constructor(
    private readonly deps: {
      envelopes: Envelopes;
      groups: Groups;
      wallet: Wallet;
      clock: Clock;
      log: Logger;
      membersMax: number;
      /** The campaign rate limit: a storm's envelopes all go into one group within the hour. */
      campaignPerGroupHour: number;
    },
  ) {}

  start(request: StormRequest, operatorId: string): StormStatus {
    const envelopesMax = Math.min(STORM_LIMITS.envelopes, this.deps.campaignPerGroupHour);
    if (request.envelopes < 1 || request.envelopes > envelopesMax) {
      throw invalid('storm_too_large', `A storm sends 1 to ${envelopesMax} envelopes.`);
    }
    const grabbersMax = Math.min(STORM_LIMITS.grabbers, this.deps.membersMax - 1);
    if (request.grabbers < 1 || request.grabbers > grabbersMax) {
      throw invalid('storm_too_large', `A storm has 1 to ${grabbersMax} grabbers.`);
    }
    if (request.shares < 1 || request.shares > Math.min(STORM_LIMITS.shares, request.grabbers)) {
      throw invalid('storm_too_large', 'Shares per envelope: 1 to 100, and no more than the grabbers.');
    }
    if ([...this.storms.values()].some((s) => s.state === 'preparing' || s.state === 'grabbing')) {
      throw invalid('storm_running', 'A storm is already running; wait for it to finish.');
    }
    const status: StormStatus = {
      id: randomUUID(),
      state: 'preparing',
      request,
      groupId: null,
      envelopesSent: 0,
      attempts: 0,
      grabbed: 0,
      grabbedAmount: 0n,
      grabsPerSecond: 0,
      startedAt: this.deps.clock.now(),
      finishedAt: null,
      error: null,
    };
    this.storms.set(status.id, status);
    for (const id of [...this.storms.keys()].slice(0, -10)) this.storms.delete(id);
    void this.run(status, operatorId).catch((error) => {
      status.state = 'failed';
      status.error = (error as Error).message;
      status.finishedAt = this.deps.clock.now();
      this.deps.log.error({ err: error, storm: status.id }, 'storm failed');
    });
    return status;
  }

  get(id: string): StormStatus | undefined {
    return this.storms.get(id);
  }

  private async run(status: StormStatus, operatorId: string): Promise<void> {
    const { envelopes, groups, wallet } = this.deps;
    const grabbers = Array.from({ length: status.request.grabbers }, () => randomUUID());
    await wallet.accounts.wallets(grabbers);
    const group = await groups.create(CAMPAIGN_SENDER, `Storm ${status.id.slice(0, 8)}`, grabbers, {
      members: 'synthetic',
    });
    this.deps.log.info({ storm: status.id, operator: operatorId, request: status.request }, 'storm started');
    status.groupId = group.id;
    const ids: string[] = [];
    for (let i = 0; i < status.request.envelopes; i++) {
      const id = randomUUID();
      await envelopes.sendCampaign({
        envelopeId: id,
        groupId: group.id,
        // 0.88 CNY a share, and never below a campaign envelope's 1 CNY minimum.
        total: BigInt(Math.max(status.request.shares * 88, 100)),
        shares: status.request.shares,
        greeting: '风暴红包',
      });
      ids.push(id);
      status.envelopesSent++;
    }
    status.state = 'grabbing';
    const started = performance.now();
    await Promise.all(
      grabbers.map(async (user) => {
        for (const envelopeId of ids) {
          const outcome = await envelopes.grab(envelopeId, user);
          status.attempts++;
          if (outcome.outcome === 'grabbed') {
            status.grabbed++;
            status.grabbedAmount += outcome.amount;
          }
          status.grabsPerSecond = Math.round(status.attempts / ((performance.now() - started) / 1000));
        }
      }),
    );
    status.state = 'finished';
    status.finishedAt = this.deps.clock.now();
  }
}
