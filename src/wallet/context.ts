import type { BankConnector } from '../bank/index.ts';
import type { Identity } from '../identity/index.ts';
import { AccountFlags, type Ledger, Ledgers, succeeded } from '../ledger/index.ts';
import { accountId, type ChartOfAccounts, SYSTEM_OWNER } from '../platform/chart.ts';
import type { Clock } from '../platform/clock.ts';
import type { Database } from '../platform/db/database.ts';
import { AppError } from '../platform/errors.ts';
import type { JobQueue } from '../platform/jobs/queue.ts';
import type { Logger } from '../platform/log.ts';
import { WalletAccounts } from './chart.ts';
import type { WalletConfig } from './settings.ts';

/** The wallet's settings, resolved from Config (see src/platform/config.ts for descriptions). */
export interface WalletSettings {
  maxCards: number;
  bankOperationMax: bigint;
  withdrawalFeeBps: number;
  withdrawalFeeMin: bigint;
  bankPollAfterMs: number;
  /** The connector's own call timeout: "not found" is final only after a call this old. */
  bankTimeoutMs: number;
  transferAcceptHours: number;
  /** Where the bank posts callbacks; empty: the bank's default for this connector. */
  callbackUrl: string;
  reconcileCron: string;
  timeZone: string;
}

export function walletSettings(config: WalletConfig, bankTimeoutMs: number): WalletSettings {
  return {
    maxCards: config.walletMaxCards,
    bankOperationMax: BigInt(config.walletBankOperationMax),
    withdrawalFeeBps: config.walletWithdrawalFeeBps,
    withdrawalFeeMin: BigInt(config.walletWithdrawalFeeMin),
    bankPollAfterMs: config.walletBankPollAfterMs,
    bankTimeoutMs,
    transferAcceptHours: config.walletTransferAcceptHours,
    callbackUrl: config.walletCallbackUrl,
    reconcileCron: config.walletReconcileCron,
    timeZone: config.timeZone,
  };
}

export interface WalletDeps {
  db: Database;
  clock: Clock;
  ledger: Ledger;
  identity: Identity;
  bank: BankConnector;
  jobs: JobQueue;
  log: Logger;
  settings: WalletSettings;
  /** Every module's transfer codes, for statement labels. */
  chart: ChartOfAccounts;
}

/** Accounts the wallet books against; ids are deterministic (src/platform/chart.ts). */
export const bankClearingAccount = accountId('bankClearing', SYSTEM_OWNER);
export const feeRevenueAccount = accountId('feeRevenue', SYSTEM_OWNER);
export const walletAccount = (userId: string) => accountId('userWallet', userId);
export const transitAccount = (transferId: string) => accountId('transferInTransit', transferId);

/**
 * Creates accounts once per process (the ledger answers `exists` on later calls anyway;
 * the cache only saves a round trip on the hot path).
 */
export class AccountEnsurer {
  private readonly known = new Set<string>();
  private systemReady: Promise<void> | null = null;
  constructor(private readonly ledger: Ledger) {}

  async system(): Promise<void> {
    this.systemReady ??= this.create([
      { id: bankClearingAccount, code: WalletAccounts.bankClearing, flags: AccountFlags.none },
      { id: feeRevenueAccount, code: WalletAccounts.feeRevenue, flags: AccountFlags.none },
    ]).catch((error) => {
      this.systemReady = null;
      throw error;
    });
    return this.systemReady;
  }

  /** The users' wallet accounts: they can never go below zero. */
  async wallets(userIds: readonly string[]): Promise<void> {
    await this.create(
      userIds.map((userId) => ({
        id: walletAccount(userId),
        code: WalletAccounts.userWallet,
        flags: AccountFlags.debits_must_not_exceed_credits,
        owner: userId,
      })),
    );
  }

  /** Several transfers' in-transit accounts in one ledger call. */
  async transits(transferIds: readonly string[]): Promise<void> {
    await this.create(
      transferIds.map((transferId) => ({
        id: transitAccount(transferId),
        code: WalletAccounts.transferInTransit,
        flags: AccountFlags.debits_must_not_exceed_credits,
        owner: transferId,
        cache: false,
      })),
    );
  }

  private async create(
    accounts: Array<{ id: string; code: number; flags: number; owner?: string; cache?: boolean }>,
  ): Promise<void> {
    const missing = accounts.filter((account) => !this.known.has(account.id));
    if (missing.length === 0) return;
    const results = await this.ledger.createAccounts(
      missing.map((account) => ({
        id: account.id,
        ledger: Ledgers.CNY,
        code: account.code,
        flags: account.flags,
        userData128: account.owner ?? null,
      })),
    );
    results.forEach((outcome, index) => {
      if (!succeeded(outcome.result)) {
        throw new AppError(
          'internal',
          'wallet_account_setup_failed',
          `Account setup failed: ${outcome.result}`,
        );
      }
      if (missing[index]!.cache !== false) this.known.add(missing[index]!.id);
    });
  }
}
