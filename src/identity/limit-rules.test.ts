import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  type AccountClass,
  chargesFor,
  firstExceeded,
  type LimitPolicy,
  PAYMENT_METHODS,
  type SpendRequest,
  VERIFICATION_STRENGTHS,
} from './limit-rules.ts';

const policy: LimitPolicy = {
  classILifetime: 100_000n,
  classIEnvelopesLifetime: 100_000n,
  classYearly: { 2: 10_000_000n, 3: 20_000_000n },
  dailyByStrength: { signature: 20_000_000n, two_factor: 500_000n, single_factor: 100_000n },
  methodDaily: { static_qr: 50_000n },
  singleFactorDailyCount: 10,
};

const base: SpendRequest = {
  accountClass: 1,
  amount: 100n,
  method: 'balance_payment',
  strength: 'two_factor',
  businessDate: '2026-03-01',
};

test('class I is capped for life, classes II and III per year', () => {
  const classOne = chargesFor(policy, base);
  assert.equal(classOne.find((c) => c.counter === 'balance_lifetime')?.cap, 100_000n);
  assert.equal(classOne.find((c) => c.counter === 'balance_yearly')?.cap, null);
  const classThree = chargesFor(policy, { ...base, accountClass: 3 });
  assert.equal(classThree.find((c) => c.counter === 'balance_yearly')?.period, '2026');
  assert.equal(classThree.find((c) => c.counter === 'balance_yearly')?.cap, 20_000_000n);
  assert.equal(classThree.find((c) => c.counter === 'balance_lifetime')?.cap, null);
});

test('bank-card quick pay and withdrawals to an own card are outside the class caps', () => {
  const charges = chargesFor(policy, { ...base, method: 'bank_card_quick_pay' });
  assert.ok(!charges.some((c) => c.counter.startsWith('balance_')));
});

test('static QR has its own daily cap; a wearable its device cap', () => {
  const charges = chargesFor(policy, {
    ...base,
    method: 'static_qr',
    deviceId: 'd1',
    deviceDailyLimit: 20_000n,
  });
  assert.equal(charges.find((c) => c.counter === 'method:static_qr')?.cap, 50_000n);
  assert.equal(charges.find((c) => c.counter === 'device:d1')?.cap, 20_000n);
  assert.equal(firstExceeded(charges, 20_001n, () => 0n)?.denial, 'device_daily_limit_exceeded');
});

test('property: applying payments in sequence through the rules never exceeds any cap', () => {
  const request = fc.record({
    accountClass: fc.constantFrom<AccountClass>(1, 2, 3),
    amount: fc.bigInt({ min: 1n, max: 200_000n }),
    method: fc.constantFrom(...PAYMENT_METHODS),
    strength: fc.constantFrom(...VERIFICATION_STRENGTHS),
    day: fc.integer({ min: 1, max: 3 }),
  });
  fc.assert(
    fc.property(fc.array(request, { maxLength: 60 }), (requests) => {
      const used = new Map<string, bigint>();
      const key = (c: { counter: string; period: string }) => `${c.counter}|${c.period}`;
      for (const r of requests) {
        const charges = chargesFor(policy, { ...r, businessDate: `2026-03-0${r.day}` });
        const sorted = charges.map(key);
        assert.deepEqual(sorted, [...sorted].sort(), 'charges come in lock order');
        if (firstExceeded(charges, r.amount, (c) => used.get(key(c)) ?? 0n)) continue;
        for (const c of charges) used.set(key(c), (used.get(key(c)) ?? 0n) + r.amount);
      }
      for (const [k, value] of used) {
        const [counter] = k.split('|');
        if (counter?.startsWith('strength:')) {
          const cap = policy.dailyByStrength[counter.slice(9) as keyof LimitPolicy['dailyByStrength']];
          if (cap !== null) assert.ok(value <= cap, `${k} used ${value} > ${cap}`);
        }
        if (counter === 'method:static_qr') assert.ok(value <= 50_000n);
      }
    }),
  );
});

test('a red envelope charges the class I envelope cap however it is paid, and only class I is capped', () => {
  const envelopeCap = (request: SpendRequest) =>
    chargesFor(policy, request).find((c) => c.counter === 'red_envelope_lifetime');
  assert.equal(envelopeCap({ ...base, method: 'red_envelope' })?.cap, 100_000n);
  // Paid by card: outside the balance caps, inside the envelope cap.
  const byCard = chargesFor(policy, { ...base, method: 'bank_card_quick_pay', envelope: true });
  assert.equal(
    byCard.find((c) => c.counter === 'balance_lifetime'),
    undefined,
  );
  assert.equal(byCard.find((c) => c.counter === 'red_envelope_lifetime')?.cap, 100_000n);
  assert.equal(
    firstExceeded(byCard, 1n, (c) => (c.counter === 'red_envelope_lifetime' ? 100_000n : 0n))?.denial,
    'class_envelope_limit_exceeded',
  );
  // Counted (uncapped) for the other classes; not charged by payments that send no envelope.
  assert.equal(envelopeCap({ ...base, accountClass: 2, method: 'red_envelope' })?.cap, null);
  assert.equal(envelopeCap({ ...base, method: 'bank_card_quick_pay' }), undefined);
  assert.equal(envelopeCap(base), undefined);
});
