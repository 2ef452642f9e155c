/**
 * Merchant onboarding over HTTP: a user's application (apply → submit → needs changes →
 * resubmit → approve), validation that stores nothing, operator-only review and terms, other
 * users' applications hidden, masked phone and account, and the audit trail of every step.
 */
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createStaff } from '../src/identity/staff.ts';
import { assertCanTakePayments, usccCheckCharacter } from '../src/merchants/index.ts';
import { createTestApp, type TestApp } from '../src/platform/testing/app.ts';
import { errorCode } from './identity-fixtures.ts';

let app: TestApp;
let alice: Record<string, string>;
let bob: Record<string, string>;
let aliceId: string;
let reader: Record<string, string>;
before(async () => {
  app = await createTestApp();
  const session = async (phone: string) => {
    const issued = await app.identity.issueSessionForTesting(phone);
    return { id: issued.user.id, headers: { authorization: `Bearer ${issued.accessToken}` } };
  };
  const a = await session('13800001601');
  aliceId = a.id;
  alice = a.headers;
  bob = (await session('13800001602')).headers;
  const staff = await createStaff(
    app.identity.context,
    { phone: '13700001601', name: 'Reader', roles: ['operator-read'] },
    'test',
  );
  reader = { authorization: `Bearer ${await app.identity.issueStaffSessionForTesting(staff.id)}` };
});
after(() => app.close());

const USCC = (first17: string) => first17 + usccCheckCharacter(first17);
const profile = (name = 'Alice Noodles Ltd') => ({
  business_name: name,
  uscc: USCC('91310115MA1K4XYW0'),
  legal_representative: '李丽',
  mcc: '5812',
  scenario: 'catering',
  contact_phone: '13912345678',
  bank_account: { holder: name, bank_name: 'Sandbox Bank', number: '6222020200112233' },
});

const call = (
  method: 'GET' | 'POST' | 'PATCH' | 'PUT',
  url: string,
  headers: Record<string, string>,
  payload?: unknown,
) => app.http.inject({ method, url, headers, payload: payload as object | undefined });

async function count(): Promise<number> {
  const { rows } = await app.db.query<{ n: string }>(
    'SELECT (SELECT count(*) FROM merchants_profiles) + (SELECT count(*) FROM merchants_merchants) AS n',
  );
  return Number(rows[0]!.n);
}

test('apply → submit → needs changes → resubmit → approve, audited with each actor', async () => {
  const applied = await call('POST', '/v1/merchant-applications', alice, profile());
  assert.equal(applied.statusCode, 201, applied.body);
  const application = applied.json();
  const id = application.id as string;
  assert.equal(application.state, 'draft');
  assert.equal(application.contact_phone, '139****5678');
  assert.equal(application.bank_account.number, '****2233');
  assert.ok(!applied.body.includes('6222020200112233') && !applied.body.includes('13912345678'));
  assert.deepEqual(application.fee_plan, { mdr_bps: 60 });
  assert.equal(application.settlement_cycle, 'T+1');
  assert.equal(application.applicant_user_id, aliceId);

  // Nothing to approve yet: the operator is told which steps the draft allows.
  const early = await call('POST', `/v1/operator/merchant-applications/${id}/review`, app.operatorHeaders, {
    action: 'approve',
  });
  assert.equal(early.statusCode, 409, early.body);
  assert.equal(errorCode(early), 'merchant_state_invalid');
  assert.deepEqual(early.json().error.details.allowed_actions, ['submit', 'close']);

  assert.equal(
    (await call('POST', `/v1/merchant-applications/${id}/submit`, alice, {})).json().state,
    'submitted',
  );
  const locked = await call('PATCH', `/v1/merchant-applications/${id}`, alice, { mcc: '5814' });
  assert.equal(locked.statusCode, 409, locked.body);
  assert.equal(errorCode(locked), 'merchant_state_invalid');

  const sentBack = await call(
    'POST',
    `/v1/operator/merchant-applications/${id}/review`,
    app.operatorHeaders,
    {
      action: 'request_changes',
      reason: 'The MCC should be 5814 (fast food).',
    },
  );
  assert.equal(sentBack.statusCode, 200, sentBack.body);
  assert.equal(sentBack.json().state, 'needs_changes');
  assert.equal(sentBack.json().reason, 'The MCC should be 5814 (fast food).');

  const edited = await call('PATCH', `/v1/merchant-applications/${id}`, alice, { mcc: '5814' });
  assert.equal(edited.statusCode, 200, edited.body);
  assert.equal(edited.json().mcc, '5814');
  assert.equal(edited.json().bank_account.number, '****2233', 'the sealed account is kept');
  assert.equal(
    (await call('POST', `/v1/merchant-applications/${id}/submit`, alice, {})).json().state,
    'submitted',
  );

  const merchantBefore = await app.merchants.getMerchant(id);
  assert.throws(() => assertCanTakePayments(merchantBefore!), { code: 'merchant_not_approved' });
  const approved = await call(
    'POST',
    `/v1/operator/merchant-applications/${id}/review`,
    app.operatorHeaders,
    {
      action: 'approve',
    },
  );
  assert.equal(approved.statusCode, 200, approved.body);
  assert.equal(approved.json().state, 'approved');
  assertCanTakePayments((await app.merchants.getMerchant(id))!);

  // Fee plan and settlement cycle: operators only, audited.
  const userTerms = await call('PUT', `/v1/operator/merchant-applications/${id}/terms`, alice, {
    mdr_bps: 1,
  });
  assert.equal(userTerms.statusCode, 403, userTerms.body);
  const terms = await call('PUT', `/v1/operator/merchant-applications/${id}/terms`, app.operatorHeaders, {
    mdr_bps: 38,
    settlement_cycle: 'T+0',
  });
  assert.equal(terms.statusCode, 200, terms.body);
  assert.deepEqual([terms.json().fee_plan.mdr_bps, terms.json().settlement_cycle], [38, 'T+0']);
  const badCycle = await call('PUT', `/v1/operator/merchant-applications/${id}/terms`, app.operatorHeaders, {
    settlement_cycle: 'T+9',
  });
  assert.equal(errorCode(badCycle), 'settlement_cycle_invalid');

  const audit = await call('GET', `/v1/audit?subject=merchant:${id}`, app.operatorHeaders);
  assert.equal(audit.statusCode, 200, audit.body);
  const entries = audit.json().entries as Array<{
    actor: string;
    action: string;
    details: Record<string, unknown>;
  }>;
  assert.deepEqual(
    entries.map((e) => [e.action, e.actor]),
    [
      ['merchant.application_created', `user:${aliceId}`],
      ['merchant.application_submitted', `user:${aliceId}`],
      ['merchant.changes_requested', 'operator:root'],
      ['merchant.application_updated', `user:${aliceId}`],
      ['merchant.application_submitted', `user:${aliceId}`],
      ['merchant.approved', 'operator:root'],
      ['merchant.terms_changed', 'operator:root'],
    ],
  );
  assert.equal(entries[0]!.details.contact_phone, '139****5678');
  assert.ok(!JSON.stringify(entries).includes('6222020200112233'), 'no account number in the audit log');
  assert.deepEqual(entries[2]!.details, {
    from: 'submitted',
    to: 'needs_changes',
    reason: 'The MCC should be 5814 (fast food).',
  });
  const chain = await app.identity.verifyAuditChain();
  assert.ok(chain.ok, chain.violations.join('\n'));
});

test('a bad USCC, MCC or account holder is a 400 with its code and stores nothing', async () => {
  const before = await count();
  const good = profile('Bad Data Ltd');
  const cases: Array<[unknown, string]> = [
    [{ ...good, uscc: `${good.uscc.slice(0, 17)}${good.uscc[17] === '0' ? '1' : '0'}` }, 'uscc_invalid'],
    [{ ...good, uscc: 'I1310115MA1K4XYZ0A' }, 'uscc_invalid'],
    [{ ...good, mcc: '58' }, 'mcc_invalid'],
    [
      { ...good, bank_account: { ...good.bank_account, holder: 'Someone Else' } },
      'bank_account_holder_mismatch',
    ],
    [{ ...good, contact_phone: '0211234' }, 'phone_invalid'],
  ];
  for (const [payload, code] of cases) {
    const response = await call('POST', '/v1/merchant-applications', alice, payload);
    assert.equal(response.statusCode, 400, response.body);
    assert.equal(errorCode(response), code);
  }
  const unknownField = await call('POST', '/v1/merchant-applications', alice, { ...good, vip: true });
  assert.equal(unknownField.statusCode, 400);
  assert.equal(await count(), before);
});

test("operator-read can list and read but not approve; a user cannot see another's application", async () => {
  const applied = await call('POST', '/v1/merchant-applications', alice, profile('Alice Books Ltd'));
  const id = applied.json().id as string;
  await call('POST', `/v1/merchant-applications/${id}/submit`, alice, {});

  const listed = await call('GET', '/v1/operator/merchant-applications?state=submitted', reader);
  assert.equal(listed.statusCode, 200, listed.body);
  assert.ok(listed.json().applications.some((a: { id: string }) => a.id === id));
  assert.equal((await call('GET', `/v1/operator/merchant-applications/${id}`, reader)).statusCode, 200);
  const approve = await call('POST', `/v1/operator/merchant-applications/${id}/review`, reader, {
    action: 'approve',
  });
  assert.equal(approve.statusCode, 403, approve.body);
  assert.equal((await app.merchants.onboarding.get(id)).review_state, 'submitted');

  for (const [method, url, payload] of [
    ['GET', `/v1/merchant-applications/${id}`, undefined],
    ['PATCH', `/v1/merchant-applications/${id}`, { mcc: '5999' }],
    ['POST', `/v1/merchant-applications/${id}/submit`, {}],
  ] as const) {
    const response = await call(method, url, bob, payload);
    assert.equal(response.statusCode, 404, `${method} ${url}: ${response.body}`);
  }
  const bobsList = await call('GET', '/v1/merchant-applications', bob);
  assert.deepEqual(bobsList.json().applications, []);
  const alicesList = await call('GET', '/v1/merchant-applications', alice);
  assert.ok(alicesList.json().applications.some((a: { id: string }) => a.id === id));
});

test('an operator onboards and approves at once; suspend stops keys, reinstate restores, close is final', async () => {
  const created = await call('POST', '/v1/operator/merchant-applications', app.operatorHeaders, {
    ...profile('Direct Travel Ltd'),
    scenario: 'travel',
    mcc: '4722',
    mdr_bps: 55,
    approve: true,
  });
  assert.equal(created.statusCode, 201, created.body);
  const id = created.json().id as string;
  assert.deepEqual([created.json().state, created.json().fee_plan.mdr_bps], ['approved', 55]);
  const { key } = await app.merchants.createApiKey(
    id,
    { name: 'till', scopes: ['payments:read'] },
    { actor: 'test', scopes: 'any' },
  );
  const asMerchant = { authorization: `Bearer ${key}` };
  assert.equal((await call('GET', `/v1/merchants/${id}`, asMerchant)).json().review_state, 'approved');

  const review = (action: string, reason?: string) =>
    call('POST', `/v1/operator/merchant-applications/${id}/review`, app.operatorHeaders, { action, reason });
  assert.equal(errorCode(await review('suspend')), 'reason_required');
  assert.equal((await review('suspend', 'chargeback spike')).json().state, 'suspended');
  const refused = await call('GET', `/v1/merchants/${id}`, asMerchant);
  assert.equal(errorCode(refused), 'merchant_suspended');
  assert.equal((await review('reinstate')).json().state, 'approved');
  assert.equal((await call('GET', `/v1/merchants/${id}`, asMerchant)).statusCode, 200);
  assert.equal((await review('close')).json().state, 'closed');
  const after = await review('reinstate');
  assert.equal(after.statusCode, 409);
  assert.deepEqual(after.json().error.details.allowed_actions, []);
  assert.equal(errorCode(await call('GET', `/v1/merchants/${id}`, asMerchant)), 'merchant_suspended');
});

test('an edit is checked like an application: a bad USCC or holder changes nothing', async () => {
  const applied = await call('POST', '/v1/merchant-applications', alice, profile('Alice Games Ltd'));
  const id = applied.json().id as string;
  const badUscc = await call('PATCH', `/v1/merchant-applications/${id}`, alice, {
    uscc: '91310115MA1K4XYW0X',
  });
  assert.equal(badUscc.statusCode, 400, badUscc.body);
  assert.equal(errorCode(badUscc), 'uscc_invalid');
  // Renaming the business without a new account: the account's holder no longer matches.
  const renamed = await call('PATCH', `/v1/merchant-applications/${id}`, alice, {
    business_name: 'Renamed Ltd',
  });
  assert.equal(errorCode(renamed), 'bank_account_holder_mismatch');
  const renamedWithAccount = await call('PATCH', `/v1/merchant-applications/${id}`, alice, {
    business_name: 'Renamed Ltd',
    bank_account: { holder: 'Renamed Ltd', bank_name: 'Sandbox Bank', number: '6222 0202 0099 8877' },
  });
  assert.equal(renamedWithAccount.statusCode, 200, renamedWithAccount.body);
  assert.equal(renamedWithAccount.json().bank_account.number, '****8877');
  assert.equal((await app.merchants.getMerchant(id))!.name, 'Renamed Ltd');
  const stored = await app.merchants.onboarding.get(id);
  assert.equal(stored.uscc, profile().uscc);
  const empty = await call('PATCH', `/v1/merchant-applications/${id}`, alice, {});
  assert.equal(empty.statusCode, 400);
  const readerTerms = await call('PUT', `/v1/operator/merchant-applications/${id}/terms`, reader, {
    mdr_bps: 1,
  });
  assert.equal(readerTerms.statusCode, 403);
  assert.equal((await app.merchants.onboarding.get(id)).mdr_bps, 60);
});
