import type { TuyereApp } from '../app.ts';
import { startSandboxBank } from '../bank/index.ts';
import { bankSettings } from '../bank/settings.ts';
import { testPan } from '../bank/testing.ts';
import { makeChineseId } from '../identity/chinese-id.ts';
import { DEMO_PEOPLE } from '../identity/demo.ts';
import type { PaymentAuthorization } from '../identity/index.ts';
// Seeding is trusted system code, like identity's own demo: it creates Carol directly.
import { findOrCreateUser, verifyRealName } from '../identity/users.ts';
import { sleep } from '../platform/db/database.ts';
import { deterministicId } from '../platform/ids.ts';

/** Carol joins Alice and Bob in the demo (class II, sandbox ID number). */
export const DEMO_CAROL = {
  phone: '13800000003',
  name: '李娜',
  idNumber: makeChineseId('440106', '19950620', '996'),
  requestedClass: 2 as const,
};

/** Each demo person's sandbox card (plain cards: every operation succeeds) and first top-up. */
const DEMO_WALLETS = [
  { who: 'alice', phone: DEMO_PEOPLE.alice.phone, pan: testPan('6001', '622202'), topUp: 100_000n },
  { who: 'bob', phone: DEMO_PEOPLE.bob.phone, pan: testPan('6002', '621700'), topUp: 50_000n },
  { who: 'carol', phone: DEMO_CAROL.phone, pan: testPan('6003', '622848'), topUp: 50_000n },
] as const;

const DEMO_TRANSFERS = [
  { key: 'alice-bob-dinner', from: 'alice', to: 'bob', amount: 8_800n, memo: '周五晚饭 Friday dinner' },
  { key: 'bob-carol-coffee', from: 'bob', to: 'carol', amount: 2_000n, memo: 'coffee' },
  { key: 'carol-alice-taxi', from: 'carol', to: 'alice', amount: 1_500n, memo: 'taxi home' },
] as const;

export const DEMO_GROUP_NAME = '周末聚餐 Weekend dinners';

export interface WalletDemoResult {
  users: Record<'alice' | 'bob' | 'carol', string>;
  groupId: string;
  notes: string[];
}

/**
 * The demo's wallets: Alice, Bob and Carol each get a wallet, a sandbox card bound through
 * the real flow (bank SMS code read from the sandbox's inbox), a top-up from that card, a
 * few friend transfers between them, and a group with all three. Idempotent: ids are
 * deterministic (top-ups, transfers), and cards and the group are looked up first.
 * Without a reachable sandbox bank (`tuyere demo` with no `npm start` running), a sandbox
 * is started for the seeding. The sandbox forgets cards when it stops; a card the bank no
 * longer knows is bound again on the next seeding.
 */
export async function seedWalletDemo(app: TuyereApp): Promise<WalletDemoResult> {
  const notes: string[] = [];
  const { context } = app.identity;
  const { user: carol } = await findOrCreateUser(context, DEMO_CAROL.phone);
  if (!carol.verified_at) {
    await verifyRealName(context, carol.id, {
      name: DEMO_CAROL.name,
      idNumber: DEMO_CAROL.idNumber,
      requestedClass: DEMO_CAROL.requestedClass,
    });
  }
  const alice = await app.identity.findUserByPhone(DEMO_PEOPLE.alice.phone);
  const bob = await app.identity.findUserByPhone(DEMO_PEOPLE.bob.phone);
  if (!alice || !bob) throw new Error('seed the identity demo (Alice, Bob) first');
  const users = { alice: alice.id, bob: bob.id, carol: carol.id };

  await app.wallet.accounts.system();
  await app.wallet.accounts.wallets(Object.values(users));

  const bankUrl = bankSettings(app.config).url;
  let temporary: Awaited<ReturnType<typeof startSandboxBank>> | null = null;
  if (!app.config.bankUrl && !(await reachable(bankUrl))) {
    const settings = bankSettings(app.config);
    temporary = await startSandboxBank({
      port: settings.sandboxPort,
      secret: settings.webhookSecret,
      seed: settings.seed,
      callbackUrl: null,
      timeZone: app.config.timeZone,
      logLevel: 'warn',
    });
  }
  try {
    for (const wallet of DEMO_WALLETS) {
      const userId = users[wallet.who];
      const card = await bindDemoCard(app, bankUrl, userId, wallet.phone, wallet.pan);
      if (!card) {
        notes.push(`${wallet.who}: no sandbox bank at ${bankUrl}; card and top-up skipped`);
        continue;
      }
      const operationId = deterministicId('demo.top_up', userId);
      let op = await app.wallet.operations.get(operationId);
      if (!op) op = await app.wallet.topUp({ operationId, userId, cardId: card.id, amount: wallet.topUp });
      // Callbacks may not reach this process yet (not listening): ask the bank.
      for (let attempt = 0; op.state === 'pending' && attempt < 100; attempt++) {
        await sleep(50);
        await app.wallet.operations.pollOne(op, new Date(app.clock.now().getTime() + 3_600_000));
        op = (await app.wallet.operations.get(operationId))!;
      }
      if (op.state !== 'succeeded') notes.push(`${wallet.who}: top-up is ${op.state}`);
    }
  } finally {
    await temporary?.stop();
  }

  for (const transfer of DEMO_TRANSFERS) {
    const senderId = users[transfer.from];
    const transferId = deterministicId('demo.transfer', transfer.key);
    if (await app.wallet.transfers.get(transferId)) continue;
    // The demo acts for the users, as if each had confirmed with their PIN.
    const authorization: PaymentAuthorization = { userId: senderId, strength: 'two_factor', via: 'pin' };
    try {
      await app.wallet.sendTransfer({
        transferId,
        senderId,
        to: { userId: users[transfer.to] },
        amount: transfer.amount,
        memo: transfer.memo,
        authorization,
      });
    } catch (error) {
      notes.push(`transfer ${transfer.key}: ${(error as Error).message}`);
    }
  }

  const groups = await app.groups.listForUser(users.alice);
  const group =
    groups.find((g) => g.name === DEMO_GROUP_NAME) ??
    (await app.groups.create(users.alice, DEMO_GROUP_NAME, [users.bob, users.carol]));
  return { users, groupId: group.id, notes };
}

async function reachable(url: string): Promise<boolean> {
  try {
    await fetch(`${url}/sandbox/sms?phone=10000000000`, { signal: AbortSignal.timeout(1000) });
    return true;
  } catch {
    return false;
  }
}

/** The user's demo card: kept if the bank still knows it, else bound through the real flow. */
async function bindDemoCard(app: TuyereApp, bankUrl: string, userId: string, phone: string, pan: string) {
  const last4 = pan.slice(-4);
  for (const card of await app.wallet.listCards(userId)) {
    if (card.status !== 'active' || card.last4 !== last4) continue;
    const known = await fetch(`${bankUrl}/sandbox/cards/${encodeURIComponent(card.cardToken)}`).catch(
      () => null,
    );
    if (!known) return null;
    if (known.ok) return card;
    await app.wallet.cards.remove(userId, card.id); // the sandbox restarted and forgot it
  }
  let started: Awaited<ReturnType<TuyereApp['wallet']['cards']['startBinding']>>;
  try {
    started = await app.wallet.cards.startBinding(userId, { pan, phone });
  } catch {
    return null;
  }
  const inbox = await fetch(`${bankUrl}/sandbox/sms?phone=${phone}`);
  const messages =
    ((await inbox.json()) as { messages?: Array<{ code: string; verification_id: string }> }).messages ?? [];
  const code = messages.find((m) => m.verification_id === started.verificationId)?.code;
  if (!code) return null;
  return app.wallet.cards.confirmBinding(userId, { verificationId: started.verificationId, smsCode: code });
}
