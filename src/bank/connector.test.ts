import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { BankError } from './connector.ts';
import { startBankFixture, testPan } from './testing.ts';

/** The connector against a running sandbox bank: binding, movements, idempotency, declines, statements. */
let fx: Awaited<ReturnType<typeof startBankFixture>>;
before(async () => {
  fx = await startBankFixture();
});
after(() => fx.stop());

const CNY = 'CNY' as const;
const HOLDER = { holderName: '韩梅梅', idNumber: '11010119900307123X' };
const issue = (pan: string, phone: string) =>
  fx.admin('POST', '/sandbox/cards', {
    pan,
    phone,
    holder_name: HOLDER.holderName,
    id_number: HOLDER.idNumber,
  });

test('binding a card: SMS code from the bank, then a token with bank, type and last 4', async () => {
  const pan = testPan('0001', '622588');
  await issue(pan, '13912345678');
  const started = await fx.connector.verifyCard({ pan, phone: '13912345678', ...HOLDER });
  assert.equal(started.phoneMasked, '139****5678');
  const sms = await fx.admin('GET', '/sandbox/sms?phone=13912345678');
  const [message] = sms.body.messages as Array<{ code: string; verification_id: string }>;
  assert.equal(message!.verification_id, started.verificationId);

  const wrong = message!.code === '000000' ? '111111' : '000000';
  await assert.rejects(
    fx.connector.confirmCard({ verificationId: started.verificationId, smsCode: wrong }),
    (error) => error instanceof BankError && error.code === 'sms_code_invalid',
  );
  const card = await fx.connector.confirmCard({
    verificationId: started.verificationId,
    smsCode: message!.code,
  });
  assert.deepEqual(
    { ...card, cardToken: card.cardToken.startsWith('tok_') },
    {
      cardToken: true,
      bankName: 'China Merchants Bank',
      cardType: 'credit',
      last4: '0001',
    },
  );
  assert.ok(!JSON.stringify(card).includes(pan.slice(6, 12)), 'no PAN digits beyond the last 4 come back');
});

test('a PAN failing Luhn is refused before it leaves Tuyere; the bank checks all four elements', async () => {
  const smsCount = async () => ((await fx.admin('GET', '/sandbox/sms')).body.messages as unknown[]).length;
  const before = await smsCount();
  await assert.rejects(
    fx.connector.verifyCard({ pan: '6222020000060002', phone: '13800000000', ...HOLDER }),
    (error) => error instanceof BankError && error.code === 'card_number_invalid',
  );
  const pan = testPan('0101');
  await issue(pan, '13000000009');
  const mismatches = [
    { pan, phone: '13000000001', ...HOLDER }, // another phone
    { pan, phone: '13000000009', ...HOLDER, holderName: '李雷' }, // another holder
    { pan, phone: '13000000009', ...HOLDER, idNumber: '110101199003071237' }, // another ID number
    { pan: testPan('0109'), phone: '13000000009', ...HOLDER }, // a card the bank never issued
  ];
  for (const input of mismatches) {
    await assert.rejects(
      fx.connector.verifyCard(input),
      (error) => error instanceof BankError && error.code === 'card_details_mismatch',
      JSON.stringify(input),
    );
  }
  await fx.card('0103'); // a card with no holder on record is never bindable
  await assert.rejects(
    fx.connector.verifyCard({ pan: testPan('0103'), phone: '13800138000', ...HOLDER }),
    (error) => error instanceof BankError && error.code === 'card_details_mismatch',
  );
  assert.equal(await smsCount(), before, 'no code was texted for any refused binding');
});

test('five wrong SMS codes lock the verification', async () => {
  await issue(testPan('0102'), '13700000000');
  const started = await fx.connector.verifyCard({ pan: testPan('0102'), phone: '13700000000', ...HOLDER });
  const { code } = (
    (await fx.admin('GET', '/sandbox/sms?phone=13700000000')).body.messages as Array<{ code: string }>
  )[0]!;
  const wrong = code === '999999' ? '888888' : '999999';
  const codes: string[] = [];
  for (let i = 0; i < 5; i++) {
    await fx.connector
      .confirmCard({ verificationId: started.verificationId, smsCode: wrong })
      .catch((e: BankError) => codes.push(e.code));
  }
  assert.deepEqual(codes, [
    'sms_code_invalid',
    'sms_code_invalid',
    'sms_code_invalid',
    'sms_code_invalid',
    'verification_locked',
  ]);
  await assert.rejects(
    fx.connector.confirmCard({ verificationId: started.verificationId, smsCode: code }),
    (error) => error instanceof BankError && error.code === 'verification_not_found',
  );
});

test('debit: processing, then one signed callback, status succeeded, card charged once', async () => {
  const token = await fx.card('0201');
  const balance = await fx.available(token);
  const result = await fx.connector.debit({
    requestId: 'topup-0201',
    cardToken: token,
    amount: 12_345n,
    currency: CNY,
  });
  assert.equal(result.outcome, 'processing');
  const [callback] = (
    await fx.receiver.waitFor((all) => all.some((c) => c.body.includes('topup-0201')))
  ).filter((c) => c.body.includes('topup-0201'));
  const event = fx.connector.parseCallback(callback!.headers as Record<string, string>, callback!.body);
  assert.equal(event.type, 'operation.succeeded');
  assert.equal(event.operation.amount, 12_345n);
  assert.equal(event.operation.sequence, 2);
  const status = await fx.connector.status('topup-0201');
  assert.ok(status.found && status.operation.status === 'succeeded');
  assert.equal(await fx.available(token), balance - 12_345n);
});

test('credit (withdrawal) adds to the card', async () => {
  const token = await fx.card('0202');
  const balance = await fx.available(token);
  assert.equal(
    (await fx.connector.credit({ requestId: 'wd-0202', cardToken: token, amount: 500n, currency: CNY }))
      .outcome,
    'processing',
  );
  await fx.receiver.waitFor((all) => all.some((c) => c.body.includes('wd-0202')));
  assert.equal(await fx.available(token), balance + 500n);
});

test('the same request id twice is one operation; with a different amount it is refused', async () => {
  const token = await fx.card('0203');
  const balance = await fx.available(token);
  const request = { requestId: 'idem-0203', cardToken: token, amount: 700n, currency: CNY };
  const [first, second] = await Promise.all([fx.connector.debit(request), fx.connector.debit(request)]);
  assert.ok(first.outcome !== 'unknown' && first.outcome !== 'rejected');
  assert.ok(second.outcome !== 'unknown' && second.outcome !== 'rejected');
  assert.equal(first.operation.bankReference, second.operation.bankReference);
  await fx.receiver.waitFor((all) => all.some((c) => c.body.includes('idem-0203')));
  const replay = await fx.connector.debit(request);
  assert.equal(replay.outcome, 'succeeded', 'a replay after the outcome returns the outcome');
  const conflict = await fx.connector.debit({ ...request, amount: 701n });
  assert.deepEqual(conflict.outcome === 'rejected' && conflict.code, 'request_id_reused');
  assert.equal(await fx.available(token), balance - 700n);
  assert.equal(fx.receiver.received.filter((c) => c.body.includes('idem-0203')).length, 1);
});

test('declines: insufficient funds (0002), blocked (0003), credit limit (0004), forced per request', async () => {
  const cases = [
    ['0002', undefined, 'insufficient_funds'],
    ['0003', undefined, 'card_blocked'],
    ['0004', undefined, 'limit_exceeded'],
    ['0203', { decline: 'card_blocked' as const }, 'card_blocked'],
  ] as const;
  for (const [last4, sandboxFaults, reason] of cases) {
    const token = await fx.card(last4);
    const balance = await fx.available(token);
    const requestId = `decline-${last4}-${reason}`;
    await fx.connector.debit({ requestId, cardToken: token, amount: 20_000n, currency: CNY, sandboxFaults });
    const [callback] = (
      await fx.receiver.waitFor((all) => all.some((c) => c.body.includes(requestId)))
    ).filter((c) => c.body.includes(requestId));
    const event = fx.connector.parseCallback(callback!.headers as Record<string, string>, callback!.body);
    assert.equal(event.type, 'operation.declined', last4);
    assert.equal(event.operation.declineReason, reason, last4);
    assert.equal(await fx.available(token), balance, `${last4}: a decline moves no money`);
  }
});

test('a credit card debits against its limit', async () => {
  const token = await fx.card('0204', { bin: '622588', balance: '1000' });
  const ok = await fx.connector.debit({ requestId: 'cc-1', cardToken: token, amount: 600n, currency: CNY });
  assert.equal(ok.outcome, 'processing');
  await fx.receiver.waitFor((all) => all.some((c) => c.body.includes('"cc-1"')));
  await fx.connector.debit({ requestId: 'cc-2', cardToken: token, amount: 600n, currency: CNY });
  const [callback] = (await fx.receiver.waitFor((all) => all.some((c) => c.body.includes('"cc-2"')))).filter(
    (c) => c.body.includes('"cc-2"'),
  );
  assert.equal(
    fx.connector.parseCallback(callback!.headers as Record<string, string>, callback!.body).operation
      .declineReason,
    'limit_exceeded',
  );
});

test('unknown card tokens and malformed requests are rejected, not unknown', async () => {
  const missing = await fx.connector.debit({
    requestId: 'nope-1',
    cardToken: 'tok_missing',
    amount: 1n,
    currency: CNY,
  });
  assert.deepEqual(missing.outcome === 'rejected' && missing.code, 'card_not_found');
  assert.deepEqual(await fx.connector.status('nope-1'), { found: false });
  const raw = await fetch(`${fx.bank.url}/v1/debits`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ request_id: 'x', card_token: 'tok', amount: 12, currency: 'CNY' }),
  });
  assert.equal(raw.status, 400, 'a numeric amount is refused, never coerced');
  const extra = await fx.admin('POST', '/v1/debits', {
    request_id: 'x',
    card_token: 'tok',
    amount: '1',
    currency: 'CNY',
    bonus: true,
  });
  assert.equal(extra.status, 400);
  const big = await fetch(`${fx.bank.url}/v1/debits`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: `{"pad":"${'x'.repeat(20_000)}"}`,
  });
  assert.equal(big.status, 413);
});
