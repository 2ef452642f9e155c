import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { Ledgers, succeeded } from '../src/ledger/index.ts';
import type { TestApp } from '../src/platform/testing/app.ts';
import { verifyRedpackets } from '../src/redpacket/index.ts';
import { bankClearingAccount, walletAccount } from '../src/wallet/context.ts';
import { WalletTransfers } from '../src/wallet/index.ts';

/** Puts money in users' wallets straight from bank clearing (test setup, not a top-up). */
export async function fundWallets(app: TestApp, userIds: readonly string[], amount: bigint): Promise<void> {
  await app.wallet.accounts.system();
  await app.wallet.accounts.wallets(userIds);
  const results = await app.ledger.createTransfers(
    userIds.map((userId) => ({
      id: randomUUID(),
      debitAccountId: bankClearingAccount,
      creditAccountId: walletAccount(userId),
      amount,
      ledger: Ledgers.CNY,
      code: WalletTransfers.topUp,
    })),
  );
  for (const result of results) assert.ok(succeeded(result.result), result.result);
}

export async function walletBalance(app: TestApp, userId: string): Promise<bigint> {
  const [account] = await app.ledger.lookupAccounts([walletAccount(userId)]);
  return account ? account.creditsPosted - account.debitsPosted - account.debitsPending : 0n;
}

/** Ledger verify and the red-envelope books both clean. */
export async function assertBooks(app: TestApp): Promise<void> {
  const report = await app.ledger.verify();
  assert.ok(report.ok, JSON.stringify(report.violations.slice(0, 5)));
  assert.deepEqual(await verifyRedpackets(app.db, app.ledger), []);
}

export const ids = (count: number) => Array.from({ length: count }, () => randomUUID());
