import type { DemoBank } from '../bank/index.ts';
import type { PaymentAuthorization } from '../identity/index.ts';
import { sleep } from '../platform/db/database.ts';
import { deterministicId } from '../platform/ids.ts';
import type { DemoWorld } from '../platform/module.ts';
import type { Wallet } from './wallet.ts';

/** Each demo person's sandbox card (plain cards: every operation succeeds) and first top-up. */
const DEMO_WALLETS = [
  { who: 'alice', topUp: 100_000n },
  { who: 'bob', topUp: 50_000n },
  { who: 'carol', topUp: 50_000n },
] as const;

const DEMO_TRANSFERS = [
  { key: 'alice-bob-dinner', from: 'alice', to: 'bob', amount: 8_800n, memo: '周五晚饭 Friday dinner' },
  { key: 'bob-carol-coffee', from: 'bob', to: 'carol', amount: 2_000n, memo: 'coffee' },
  { key: 'carol-alice-taxi', from: 'carol', to: 'alice', amount: 1_500n, memo: 'taxi home' },
] as const;

/**
 * The demo's wallets: Alice, Bob and Carol each get a wallet, a sandbox card bound through
 * the real flow (the bank's SMS code read from the sandbox's inbox, see src/bank/demo.ts), a
 * top-up from that card, and a few friend transfers between them. Idempotent: ids are
 * deterministic (top-ups, transfers), and cards are looked up first. The sandbox forgets
 * cards when it stops; a card the bank no longer knows is bound again on the next seeding.
 */
export async function seedWalletDemo(wallet: Wallet, world: DemoWorld): Promise<void> {
  const { notes, people } = world;
  const bank = world.bank;
  await wallet.accounts.system();
  await wallet.accounts.wallets(DEMO_WALLETS.map((demo) => people[demo.who]!));
  for (const demo of DEMO_WALLETS) {
    const userId = people[demo.who]!;
    const card = bank ? await bindDemoCard(wallet, bank, userId, demo.who) : null;
    if (!card) {
      notes.push(`${demo.who}: no sandbox bank; card and top-up skipped`);
      continue;
    }
    const operationId = deterministicId('demo.top_up', userId);
    let op = await wallet.operations.get(operationId);
    if (!op) op = await wallet.topUp({ operationId, userId, cardId: card.id, amount: demo.topUp });
    // Callbacks may not reach this process yet (not listening): ask the bank.
    for (let attempt = 0; op.state === 'pending' && attempt < 100; attempt++) {
      await sleep(50);
      await wallet.operations.pollOne(op, new Date(wallet.deps.clock.now().getTime() + 3_600_000));
      op = (await wallet.operations.get(operationId))!;
    }
    if (op.state !== 'succeeded') notes.push(`${demo.who}: top-up is ${op.state}`);
  }

  for (const transfer of DEMO_TRANSFERS) {
    const senderId = people[transfer.from]!;
    const transferId = deterministicId('demo.transfer', transfer.key);
    if (await wallet.transfers.get(transferId)) continue;
    // The demo acts for the users, as if each had confirmed with their PIN.
    const authorization: PaymentAuthorization = { userId: senderId, strength: 'two_factor', via: 'pin' };
    try {
      await wallet.sendTransfer({
        transferId,
        senderId,
        to: { userId: people[transfer.to]! },
        amount: transfer.amount,
        memo: transfer.memo,
        authorization,
      });
    } catch (error) {
      notes.push(`transfer ${transfer.key}: ${(error as Error).message}`);
    }
  }
}

/** The user's demo card: kept if the bank still knows it, else bound through the real flow. */
async function bindDemoCard(wallet: Wallet, bank: DemoBank, userId: string, who: string) {
  const { pan, phone } = bank.cards[who]!;
  for (const card of await wallet.listCards(userId)) {
    if (card.status !== 'active' || card.last4 !== pan.slice(-4)) continue;
    const known = await bank.knowsCard(card.cardToken);
    if (known === null) return null;
    if (known) return card;
    await wallet.cards.remove(userId, card.id); // the sandbox restarted and forgot it
  }
  let started: Awaited<ReturnType<Wallet['cards']['startBinding']>>;
  try {
    started = await wallet.cards.startBinding(userId, { pan, phone });
  } catch {
    return null;
  }
  const code = await bank.smsCode(phone, started.verificationId);
  if (!code) return null;
  return wallet.cards.confirmBinding(userId, { verificationId: started.verificationId, smsCode: code });
}
