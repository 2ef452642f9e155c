/**
 * The demo world's wallets: seeded against a real sandbox bank (cards bound through the
 * verify/SMS/confirm flow, a top-up settled by the bank), transfers between Alice, Bob and
 * Carol, and their group. Seeding twice changes nothing.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { isDemoSeeded, seedDemo } from '../src/cli/demo.ts';
import { DEMO_PEOPLE } from '../src/identity/index.ts';
import { assertCanTakePayments, DEMO_MERCHANT_ID, usccProblem } from '../src/merchants/index.ts';
import { DEMO_GROUP_NAME } from '../src/social/index.ts';
import { startWalletWorld, type WalletWorld } from './wallet-fixtures.ts';

let world: WalletWorld;
before(async () => {
  world = await startWalletWorld();
});
after(() => world.close());

async function snapshot() {
  const { app } = world;
  const out: Record<string, unknown> = {};
  for (const phone of [DEMO_PEOPLE.alice.phone, DEMO_PEOPLE.bob.phone, DEMO_PEOPLE.carol.phone]) {
    const user = (await app.identity.findUserByPhone(phone))!;
    out[phone] = {
      balance: await app.wallet.balance(user.id),
      cards: (await app.wallet.listCards(user.id)).map((c) => [c.id, c.last4, c.status]),
      statement: (await app.wallet.statement(user.id)).items.length,
      groups: (await app.social.listForUser(user.id)).map((g) => [g.id, g.name]),
    };
  }
  return out;
}

test('the demo gives Alice, Bob and Carol wallets, cards, money, transfers and a group; twice without change', async () => {
  const { app } = world;
  const first = await seedDemo(app);
  assert.ok(await isDemoSeeded(app));
  assert.deepEqual(first.notes.slice(1), [], first.notes.join('\n'));
  assert.ok(first.logins.some((login) => login.who.startsWith(`Carol ${DEMO_PEOPLE.carol.phone}`)));
  const once = await snapshot();
  const second = await seedDemo(app);
  assert.deepEqual(second.logins, first.logins);
  assert.deepEqual(await snapshot(), once);

  // Top-ups 1,000 / 500 / 500 CNY; Alice -> Bob 88, Bob -> Carol 20, Carol -> Alice 15.
  const available = (phone: string) => (once[phone] as { balance: { available: string } }).balance.available;
  assert.equal(available(DEMO_PEOPLE.alice.phone), String(100_000 - 8_800 + 1_500));
  assert.equal(available(DEMO_PEOPLE.bob.phone), String(50_000 + 8_800 - 2_000));
  assert.equal(available(DEMO_PEOPLE.carol.phone), String(50_000 + 2_000 - 1_500));
  for (const phone of Object.keys(once)) {
    const person = once[phone] as { cards: unknown[]; statement: number; groups: Array<[string, string]> };
    assert.equal(person.cards.length, 1);
    assert.equal(person.statement, 3); // the top-up and two transfers
    assert.deepEqual(
      person.groups.map(([, name]) => name),
      [DEMO_GROUP_NAME],
    );
  }
  const verify = await app.ledger.verify();
  assert.ok(verify.ok, JSON.stringify(verify.violations));
});

test('the demo merchant is onboarded, approved with a valid USCC, and may take payments', async () => {
  const { app } = world;
  await seedDemo(app);
  const merchant = (await app.merchants.getMerchant(DEMO_MERCHANT_ID))!;
  assert.equal(merchant.review_state, 'approved');
  assertCanTakePayments(merchant);
  const profile = await app.merchants.onboarding.get(DEMO_MERCHANT_ID);
  assert.equal(usccProblem(profile.uscc), undefined);
  assert.equal(profile.mdr_bps, 60);
  await seedDemo(app);
  assert.equal((await app.merchants.onboarding.list({ state: 'approved' })).length, 1, 'seeded once');
});
