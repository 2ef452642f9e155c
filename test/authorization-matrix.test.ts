/**
 * The authorization matrix: every registered route × every role (and anonymous) × {own
 * resource, another's resource}, with the expected outcome derived from a fixture table
 * written independently of the route code. A route without a fixture fails the test, so
 * a new route cannot ship without its access rules being stated and checked here.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, test } from 'node:test';
import { makeChineseId } from '../src/identity/chinese-id.ts';
import {
  completeRawDeviceRegistration,
  rawRegistrationMessage,
  startRawDeviceRegistration,
  startWebauthnRegistration,
} from '../src/identity/devices.ts';
import type { StepUpAction } from '../src/identity/index.ts';
import { createStaff } from '../src/identity/staff.ts';
import { setPasswordFree, verifyRealName } from '../src/identity/users.ts';
import { MERCHANT_SCOPES, type ProfileInput, usccCheckCharacter } from '../src/merchants/index.ts';
import type { Role } from '../src/platform/http/policy.ts';
import { createTestApp, type TestApp } from '../src/platform/testing/app.ts';
import { deviceKey } from './identity-fixtures.ts';
import { fundWallets } from './redpacket-fixtures.ts';

type Side = 'own' | 'other';
type Outcome = 'ok' | 'unauthenticated' | 'forbidden' | 'hidden';
interface Built {
  url: string;
  payload?: unknown;
}
interface Fixture {
  /** 'public', or the roles allowed to call. */
  allowed: 'public' | readonly Role[];
  /** Whose resource the path names; user/merchant callers only reach their own. */
  owner: 'user' | 'merchant' | 'none';
  /** Expected status (and error code, when the allowed call is refused on its merits) for an allowed call. */
  ok: number;
  okCode?: string;
  /** Server-sent events: checked over a real socket, headers only. */
  stream?: boolean;
  /**
   * The route demands a step-up bound to this purpose: the matrix's calls carry no proof (what a
   * stolen session can send), and the step-up test below checks it for each such route.
   */
  stepUp?: StepUpAction;
  build(world: World, side: Side): Promise<Built> | Built;
}

const STAFF: readonly Role[] = ['operator-read', 'operator-admin', 'auditor'];
const CALLERS: ReadonlyArray<Role | 'anonymous'> = [
  'anonymous',
  'user',
  'merchant',
  'operator-read',
  'operator-admin',
  'auditor',
];

let app: TestApp;
let world: World;
let phoneCounter = 0;
const uniquePhone = () => `139${String(10_000_000 + phoneCounter++).slice(-8)}`;

class World {
  alice!: { id: string; phone: string };
  bob!: { id: string; phone: string };
  carol!: { id: string; phone: string };
  merchants!: Record<Side, string>;
  merchantKey!: string;
  staff!: Record<'operator-read' | 'operator-admin' | 'auditor', string>;

  async init() {
    const user = async (phone: string) => ({
      id: (await app.identity.issueSessionForTesting(phone)).user.id,
      phone,
    });
    this.alice = await user('13800000901');
    this.bob = await user('13800000902');
    this.carol = await user('13800000903');
    const context = app.identity.context;
    // Alice is real-name verified (card binding needs it), with the same name and ID number
    // the real-name fixtures below submit, so those still succeed whichever runs first.
    await verifyRealName(context, this.alice.id, {
      name: '王五',
      idNumber: makeChineseId('310101', '19851111', '123'),
      requestedClass: 2,
    });
    // The envelopes below are paid password-free, which a user has to turn on (off by default).
    for (const who of [this.alice, this.bob, this.carol])
      await setPasswordFree(context, who.id, true, 'test');
    this.merchants = {
      own: (await app.merchants.createMerchant('Matrix Mart', 'test')).id,
      other: (await app.merchants.createMerchant('Other Mart', 'test')).id,
    };
    this.merchantKey = (
      await app.merchants.createApiKey(
        this.merchants.own,
        { name: 'all', scopes: MERCHANT_SCOPES },
        { actor: 'test', scopes: 'any' },
      )
    ).key;
    const staff = async (role: 'operator-read' | 'operator-admin' | 'auditor', phone: string) =>
      (await createStaff(context, { phone, name: role, roles: [role] }, 'test')).id;
    this.staff = {
      'operator-read': await staff('operator-read', '13700000001'),
      'operator-admin': await staff('operator-admin', '13700000002'),
      auditor: await staff('auditor', '13700000003'),
    };
  }

  userOf(side: Side) {
    return side === 'own' ? this.alice : this.bob;
  }

  /** Fresh credentials per cell, so routes like logout cannot disturb later cells. */
  async headers(caller: Role | 'anonymous'): Promise<Record<string, string>> {
    if (caller === 'anonymous') return {};
    if (caller === 'merchant') return { authorization: `Bearer ${this.merchantKey}` };
    if (caller === 'user')
      return {
        authorization: `Bearer ${(await app.identity.issueSessionForTesting(this.alice.phone)).accessToken}`,
      };
    return { authorization: `Bearer ${await app.identity.issueStaffSessionForTesting(this.staff[caller])}` };
  }

  async device(side: Side): Promise<string> {
    return (await this.deviceWithKey(side)).deviceId;
  }

  /** A bound card of `side`'s user (tokenized directly: the matrix has no bank). */
  async card(side: Side): Promise<string> {
    const userId = this.userOf(side).id;
    return (
      await app.wallet.cards.bindToken(userId, {
        cardToken: `matrix-card-${userId}`,
        bankName: 'Matrix Bank',
        cardType: 'debit',
        last4: '0002',
      })
    ).id;
  }

  async deviceWithKey(side: Side) {
    const userId = this.userOf(side).id;
    const key = deviceKey('ed25519');
    const challenge = await startRawDeviceRegistration(app.identity.context, userId);
    const spki = Buffer.from(key.publicKeyBase64, 'base64');
    const device = await completeRawDeviceRegistration(app.identity.context, userId, {
      challengeId: challenge.challenge_id,
      kind: 'phone',
      name: 'matrix',
      keyType: 'ed25519',
      publicKey: key.publicKeyBase64,
      signature: key.sign(rawRegistrationMessage(userId, challenge.challenge_id, challenge.nonce, spki)),
      userVerification: true,
    });
    return { deviceId: device.id, key };
  }

  /** A funded, active group envelope in `side`'s group (password-free: small enough). */
  private readonly envelopes = new Map<Side, Promise<string>>();
  envelope(side: Side): Promise<string> {
    let envelope = this.envelopes.get(side);
    if (!envelope) {
      envelope = this.sendEnvelope(side);
      this.envelopes.set(side, envelope);
    }
    return envelope;
  }

  private async sendEnvelope(side: Side): Promise<string> {
    const owner = this.userOf(side);
    const groupId = await this.group(side);
    await fundWallets(app, [owner.id], 1000n);
    const envelope = await app.redpacket.send({
      envelopeId: randomUUID(),
      senderId: owner.id,
      groupId,
      kind: 'lucky',
      total: 100n,
      shares: 1,
      greeting: 'matrix',
      proof: { type: 'none' },
    });
    return envelope.id;
  }

  async session(side: Side): Promise<string> {
    return (await app.identity.issueSessionForTesting(this.userOf(side).phone)).sessionId;
  }

  /** `side`'s webhook endpoint (one per side, kept: the routes reading or changing it share it). */
  private readonly endpoints = new Map<Side, Promise<string>>();
  webhookEndpoint(side: Side): Promise<string> {
    let endpoint = this.endpoints.get(side);
    if (!endpoint) {
      endpoint = this.freshWebhookEndpoint(side);
      this.endpoints.set(side, endpoint);
    }
    return endpoint;
  }

  async freshWebhookEndpoint(side: Side): Promise<string> {
    const { endpoint } = await app.merchants.webhooks.createEndpoint(
      this.merchants[side],
      { url: 'https://hooks.example.com/matrix', event_types: ['order.paid'] },
      'test',
    );
    return endpoint.id;
  }

  /** A delivery to `side`'s endpoint, of a new event. */
  async webhookDelivery(side: Side): Promise<string> {
    const endpointId = await this.webhookEndpoint(side);
    await app.merchants.webhooks.emit(this.merchants[side], 'order.paid', {}, { eventId: randomUUID() });
    const [delivery] = await app.merchants.webhooks.listDeliveries(endpointId, { limit: 1 });
    return delivery!.id;
  }

  /** A fresh merchant application of `side`'s user, submitted when asked. */
  async application(side: Side, submitted = false): Promise<string> {
    const applicant = this.userOf(side).id;
    const application = await app.merchants.onboarding.apply(applicant, merchantProfile(), 'test');
    if (submitted) await app.merchants.onboarding.submit(application.merchant_id, 'test');
    return application.merchant_id;
  }

  async apiKey(side: Side): Promise<string> {
    return (
      await app.merchants.createApiKey(
        this.merchants[side],
        { name: 'cell', scopes: ['payments:read'] },
        { actor: 'test', scopes: 'any' },
      )
    ).record.id;
  }

  async group(side: Side, members: string[] = []): Promise<string> {
    const owner = this.userOf(side);
    const headers = {
      authorization: `Bearer ${(await app.identity.issueSessionForTesting(owner.phone)).accessToken}`,
    };
    const created = await app.http.inject({
      method: 'POST',
      url: '/v1/groups',
      headers,
      payload: { name: 'matrix', member_ids: members },
    });
    assert.equal(created.statusCode, 201, created.body);
    return created.json().id;
  }
}

const userRoute = (
  suffix: string,
  allowed: readonly Role[],
  ok: number,
  payload?: (w: World, side: Side) => unknown,
  okCode?: string,
): Fixture => ({
  allowed,
  owner: 'user',
  ok,
  okCode,
  build: async (w, side) => ({
    url: `/v1/users/${w.userOf(side).id}${suffix}`,
    payload: await payload?.(w, side),
  }),
});
/** A wallet bank operation (top-up) row of `userId`, written directly: the matrix has no bank. */
async function walletOperation(userId: string): Promise<string> {
  const card = await app.wallet.cards.bindToken(userId, {
    cardToken: `matrix-${userId}`,
    bankName: 'Matrix Bank',
    cardType: 'debit',
    last4: '0001',
  });
  const id = randomUUID();
  await app.db.query(
    `INSERT INTO wallet_bank_operations (id, user_id, kind, card_id, request_id, amount, state, next_poll_at, created_at)
     VALUES ($1, $2, 'top_up', $3, $4, 100, 'failed', now(), now())`,
    [id, userId, card.id, `tu-${id}`],
  );
  return id;
}

/** A friend transfer row from `senderId` to `recipientId`, written directly. */
async function walletTransfer(senderId: string, recipientId: string): Promise<string> {
  const id = randomUUID();
  await app.db.query(
    `INSERT INTO wallet_transfers (id, sender_id, recipient_id, amount, via_transit, require_acceptance, state, created_at)
     VALUES ($1, $2, $3, 100, true, true, 'awaiting_acceptance', now())`,
    [id, senderId, recipientId],
  );
  return id;
}

const USER_READERS: readonly Role[] = ['user', 'operator-read', 'operator-admin'];

/** A valid onboarding profile (USCC with its check character). */
function merchantProfile(name = 'Matrix Noodles Ltd'): ProfileInput {
  const first17 = '91310115MA1K4XYW0';
  return {
    business_name: name,
    uscc: first17 + usccCheckCharacter(first17),
    legal_representative: '王五',
    mcc: '5812',
    scenario: 'catering',
    contact_phone: '13912345678',
    bank_account: { holder: name, bank_name: 'Matrix Bank', number: '6222020200112233' },
  };
}

/** Every route, in the order cells run. Keys are METHOD and the path as registered. */
const LEDGER_READERS: readonly Role[] = ['operator-read', 'operator-admin'];
/** A fresh ledger account (history-flagged), created directly through the ledger service. */
async function ledgerAccount(): Promise<string> {
  const id = randomUUID();
  await app.ledger.createAccounts([{ id, ledger: 1, code: 9001, flags: 1 << 3 }]);
  return id;
}

const FIXTURES: Record<string, Fixture> = {
  'GET /health': { allowed: 'public', owner: 'none', ok: 200, build: () => ({ url: '/health' }) },
  'GET /ready': { allowed: 'public', owner: 'none', ok: 200, build: () => ({ url: '/ready' }) },
  'GET /metrics': { allowed: 'public', owner: 'none', ok: 200, build: () => ({ url: '/metrics' }) },
  'POST /v1/auth/sms-codes': {
    allowed: 'public',
    owner: 'none',
    ok: 202,
    build: () => ({ url: '/v1/auth/sms-codes', payload: { phone: uniquePhone(), purpose: 'login' } }),
  },
  'POST /v1/auth/login': {
    allowed: 'public',
    owner: 'none',
    ok: 401,
    okCode: 'sms_code_invalid',
    build: () => ({ url: '/v1/auth/login', payload: { phone: uniquePhone(), code: '000000' } }),
  },
  'POST /v1/auth/staff/login': {
    allowed: 'public',
    owner: 'none',
    ok: 401,
    okCode: 'sms_code_invalid',
    build: () => ({ url: '/v1/auth/staff/login', payload: { phone: uniquePhone(), code: '000000' } }),
  },
  'POST /v1/auth/refresh': {
    allowed: 'public',
    owner: 'none',
    ok: 401,
    okCode: 'refresh_token_invalid',
    build: () => ({ url: '/v1/auth/refresh', payload: { refresh_token: 'rt_not-a-real-token' } }),
  },
  'POST /v1/auth/logout': {
    allowed: ['user', ...STAFF],
    owner: 'none',
    ok: 204,
    build: () => ({ url: '/v1/auth/logout', payload: {} }),
  },
  'GET /v1/me': { allowed: ['user'], owner: 'none', ok: 200, build: () => ({ url: '/v1/me' }) },
  'GET /v1/users/:user_id': userRoute('', USER_READERS, 200),
  'GET /v1/users/:user_id/sessions': userRoute('/sessions', USER_READERS, 200),
  'DELETE /v1/sessions/:session_id': {
    allowed: ['user', 'operator-admin'],
    owner: 'user',
    ok: 204,
    build: async (w, side) => ({ url: `/v1/sessions/${await w.session(side)}` }),
  },
  'POST /v1/users/:user_id/real-name': userRoute('/real-name', ['user'], 200, () => ({
    name: '王五',
    id_number: makeChineseId('310101', '19851111', '123'),
    requested_class: 'II',
  })),
  'PATCH /v1/users/:user_id/payment-settings': {
    ...userRoute(
      '/payment-settings',
      ['user'],
      403,
      () => ({ password_free_enabled: true }),
      'step_up_required',
    ),
    stepUp: 'password_free.enable',
  },
  'POST /v1/users/:user_id/phone/verification-code': userRoute(
    '/phone/verification-code',
    ['user'],
    202,
    () => ({ new_phone: uniquePhone() }),
  ),
  'PUT /v1/users/:user_id/phone': {
    ...userRoute(
      '/phone',
      ['user'],
      403,
      () => ({ new_phone: uniquePhone(), sms_code: '000000' }),
      'step_up_required',
    ),
    stepUp: 'phone.change',
  },
  'GET /v1/users/:user_id/limits': userRoute('/limits', USER_READERS, 200),
  'GET /v1/users/:user_id/pin': userRoute('/pin', USER_READERS, 200),
  'POST /v1/users/:user_id/pin': userRoute('/pin', ['user'], 204, () => ({ pin: '135792' })),
  'PUT /v1/users/:user_id/pin': userRoute('/pin', ['user'], 204, () => ({
    old_pin: '135792',
    new_pin: '246813',
  })),
  'POST /v1/users/:user_id/pin/reset-code': userRoute('/pin/reset-code', ['user'], 202, () => ({})),
  'POST /v1/users/:user_id/pin/reset': userRoute(
    '/pin/reset',
    ['user'],
    401,
    () => ({ sms_code: '000000', new_pin: '975318' }),
    'sms_code_invalid',
  ),
  'GET /v1/users/:user_id/devices': userRoute('/devices', USER_READERS, 200),
  'POST /v1/users/:user_id/devices/registration-challenges': userRoute(
    '/devices/registration-challenges',
    ['user'],
    201,
    () => ({}),
  ),
  'POST /v1/users/:user_id/devices': {
    ...userRoute(
      '/devices',
      ['user'],
      403,
      async (w, side) => {
        const userId = w.userOf(side).id;
        const key = deviceKey('p256');
        const challenge = await startRawDeviceRegistration(app.identity.context, userId);
        const spki = Buffer.from(key.publicKeyBase64, 'base64');
        return {
          challenge_id: challenge.challenge_id,
          kind: 'wearable',
          name: 'Watch',
          key_type: 'p256',
          public_key: key.publicKeyBase64,
          signature: key.sign(rawRegistrationMessage(userId, challenge.challenge_id, challenge.nonce, spki)),
          user_verification: false,
        };
      },
      'step_up_required',
    ),
    stepUp: 'device.add',
  },
  'POST /v1/users/:user_id/passkeys/registration-options': userRoute(
    '/passkeys/registration-options',
    ['user'],
    201,
    () => ({}),
  ),
  'POST /v1/users/:user_id/passkeys': {
    ...userRoute(
      '/passkeys',
      ['user'],
      403,
      async (w, side) => ({
        challenge_id: (await startWebauthnRegistration(app.identity.context, w.userOf(side).id, 'x'))
          .challenge_id,
        kind: 'browser',
        name: 'Laptop',
        response: { id: 'bogus', rawId: 'bogus', type: 'public-key', response: {} },
      }),
      'step_up_required',
    ),
    stepUp: 'device.add',
  },
  'PATCH /v1/devices/:device_id': {
    allowed: ['user', 'operator-admin'],
    owner: 'user',
    ok: 200,
    build: async (w, side) => ({ url: `/v1/devices/${await w.device(side)}`, payload: { name: 'Renamed' } }),
  },
  'POST /v1/devices/:device_id/disable': {
    allowed: ['user', 'operator-admin'],
    owner: 'user',
    ok: 200,
    build: async (w, side) => ({ url: `/v1/devices/${await w.device(side)}/disable`, payload: {} }),
  },
  'POST /v1/users/:user_id/payment-challenges': userRoute('/payment-challenges', ['user'], 201, () => ({
    amount: '1250',
    currency: 'CNY',
    payee: 'merchant:m1',
    purpose: 'order:1',
  })),
  'GET /v1/merchants/:merchant_id': {
    allowed: ['merchant', 'operator-read', 'operator-admin'],
    owner: 'merchant',
    ok: 200,
    build: (w, side) => ({ url: `/v1/merchants/${w.merchants[side]}` }),
  },
  'GET /v1/merchants/:merchant_id/api-keys': {
    allowed: ['merchant', 'operator-read', 'operator-admin'],
    owner: 'merchant',
    ok: 200,
    build: (w, side) => ({ url: `/v1/merchants/${w.merchants[side]}/api-keys` }),
  },
  'POST /v1/merchants/:merchant_id/api-keys': {
    allowed: ['merchant', 'operator-admin'],
    owner: 'merchant',
    ok: 201,
    build: (w, side) => ({
      url: `/v1/merchants/${w.merchants[side]}/api-keys`,
      payload: { name: 'pos', scopes: ['payments:write'] },
    }),
  },
  'POST /v1/api-keys/:key_id/rotate': {
    allowed: ['merchant', 'operator-admin'],
    owner: 'merchant',
    ok: 201,
    build: async (w, side) => ({ url: `/v1/api-keys/${await w.apiKey(side)}/rotate`, payload: {} }),
  },
  'DELETE /v1/api-keys/:key_id': {
    allowed: ['merchant', 'operator-admin'],
    owner: 'merchant',
    ok: 200,
    build: async (w, side) => ({ url: `/v1/api-keys/${await w.apiKey(side)}` }),
  },
  'GET /v1/webhook-event-types': {
    allowed: ['merchant', 'operator-read', 'operator-admin'],
    owner: 'none',
    ok: 200,
    build: () => ({ url: '/v1/webhook-event-types' }),
  },
  'POST /v1/merchants/:merchant_id/webhook-endpoints': {
    allowed: ['merchant', 'operator-admin'],
    owner: 'merchant',
    ok: 201,
    build: (w, side) => ({
      url: `/v1/merchants/${w.merchants[side]}/webhook-endpoints`,
      payload: { url: 'https://hooks.example.com/new', event_types: ['order.paid'] },
    }),
  },
  'GET /v1/merchants/:merchant_id/webhook-endpoints': {
    allowed: ['merchant', 'operator-read', 'operator-admin'],
    owner: 'merchant',
    ok: 200,
    build: (w, side) => ({ url: `/v1/merchants/${w.merchants[side]}/webhook-endpoints` }),
  },
  'GET /v1/webhook-endpoints/:endpoint_id': {
    allowed: ['merchant', 'operator-read', 'operator-admin'],
    owner: 'merchant',
    ok: 200,
    build: async (w, side) => ({ url: `/v1/webhook-endpoints/${await w.webhookEndpoint(side)}` }),
  },
  'PATCH /v1/webhook-endpoints/:endpoint_id': {
    allowed: ['merchant', 'operator-admin'],
    owner: 'merchant',
    ok: 200,
    build: async (w, side) => ({
      url: `/v1/webhook-endpoints/${await w.webhookEndpoint(side)}`,
      payload: { description: 'matrix' },
    }),
  },
  'DELETE /v1/webhook-endpoints/:endpoint_id': {
    allowed: ['merchant', 'operator-admin'],
    owner: 'merchant',
    ok: 204,
    build: async (w, side) => ({ url: `/v1/webhook-endpoints/${await w.freshWebhookEndpoint(side)}` }),
  },
  'POST /v1/webhook-endpoints/:endpoint_id/rotate-secret': {
    allowed: ['merchant', 'operator-admin'],
    owner: 'merchant',
    ok: 201,
    build: async (w, side) => ({
      url: `/v1/webhook-endpoints/${await w.webhookEndpoint(side)}/rotate-secret`,
      payload: {},
    }),
  },
  'POST /v1/webhook-endpoints/:endpoint_id/replay-dead': {
    allowed: ['merchant', 'operator-admin'],
    owner: 'merchant',
    ok: 200,
    build: async (w, side) => ({
      url: `/v1/webhook-endpoints/${await w.webhookEndpoint(side)}/replay-dead`,
      payload: {},
    }),
  },
  'GET /v1/webhook-endpoints/:endpoint_id/deliveries': {
    allowed: ['merchant', 'operator-read', 'operator-admin'],
    owner: 'merchant',
    ok: 200,
    build: async (w, side) => ({ url: `/v1/webhook-endpoints/${await w.webhookEndpoint(side)}/deliveries` }),
  },
  'GET /v1/webhook-deliveries/:delivery_id': {
    allowed: ['merchant', 'operator-read', 'operator-admin'],
    owner: 'merchant',
    ok: 200,
    build: async (w, side) => ({ url: `/v1/webhook-deliveries/${await w.webhookDelivery(side)}` }),
  },
  'POST /v1/webhook-deliveries/:delivery_id/replay': {
    allowed: ['merchant', 'operator-admin'],
    owner: 'merchant',
    ok: 200,
    build: async (w, side) => ({
      url: `/v1/webhook-deliveries/${await w.webhookDelivery(side)}/replay`,
      payload: {},
    }),
  },
  'POST /v1/operator/webhook-deliveries/:delivery_id/replay': {
    allowed: ['operator-admin'],
    owner: 'merchant',
    ok: 200,
    build: async (w, side) => ({
      url: `/v1/operator/webhook-deliveries/${await w.webhookDelivery(side)}/replay`,
      payload: {},
    }),
  },
  'GET /v1/operator/users': {
    allowed: ['operator-read', 'operator-admin'],
    owner: 'none',
    ok: 200,
    build: (w) => ({ url: `/v1/operator/users?phone=${w.alice.phone}` }),
  },
  'POST /v1/operator/users/:user_id/real-name': {
    allowed: ['operator-admin'],
    owner: 'user',
    ok: 200,
    build: (w, side) => ({
      url: `/v1/operator/users/${w.userOf(side).id}/real-name`,
      // The same name and ID number as the user's own submission below, so whichever runs first
      // the other still succeeds (a user's real name is set once).
      payload: {
        name: '王五',
        id_number:
          side === 'own'
            ? makeChineseId('310101', '19851111', '123')
            : makeChineseId('310101', '19851111', '402'),
        requested_class: 'II',
        reason: 'matrix',
      },
    }),
  },
  'POST /v1/operator/users/:user_id/status': {
    allowed: ['operator-admin'],
    owner: 'user',
    ok: 200,
    build: (w, side) => ({
      url: `/v1/operator/users/${w.userOf(side).id}/status`,
      payload: { status: 'active', reason: 'matrix' },
    }),
  },
  'POST /v1/operator/staff': {
    allowed: ['operator-admin'],
    owner: 'none',
    ok: 201,
    build: () => ({
      url: '/v1/operator/staff',
      payload: { phone: uniquePhone(), name: 'New staff', roles: ['auditor'] },
    }),
  },
  'POST /v1/operator/merchants': {
    allowed: ['operator-admin'],
    owner: 'none',
    ok: 201,
    build: () => ({ url: '/v1/operator/merchants', payload: { name: 'Another shop' } }),
  },
  // Merchant onboarding (issue 16): a user's own applications; operators review.
  'POST /v1/merchant-applications': {
    allowed: ['user'],
    owner: 'none',
    ok: 201,
    build: () => ({ url: '/v1/merchant-applications', payload: merchantProfile() }),
  },
  'GET /v1/merchant-applications': {
    allowed: ['user'],
    owner: 'none',
    ok: 200,
    build: () => ({ url: '/v1/merchant-applications' }),
  },
  'GET /v1/merchant-applications/:merchant_id': {
    allowed: USER_READERS,
    owner: 'user',
    ok: 200,
    build: async (w, side) => ({ url: `/v1/merchant-applications/${await w.application(side)}` }),
  },
  'PATCH /v1/merchant-applications/:merchant_id': {
    allowed: ['user'],
    owner: 'user',
    ok: 200,
    build: async (w, side) => ({
      url: `/v1/merchant-applications/${await w.application(side)}`,
      payload: { mcc: '5814' },
    }),
  },
  'POST /v1/merchant-applications/:merchant_id/submit': {
    allowed: ['user'],
    owner: 'user',
    ok: 200,
    build: async (w, side) => ({
      url: `/v1/merchant-applications/${await w.application(side)}/submit`,
      payload: {},
    }),
  },
  'POST /v1/operator/merchant-applications': {
    allowed: ['operator-admin'],
    owner: 'none',
    ok: 201,
    build: () => ({
      url: '/v1/operator/merchant-applications',
      payload: { ...merchantProfile('Matrix Direct Ltd'), approve: true },
    }),
  },
  'GET /v1/operator/merchant-applications': {
    allowed: ['operator-read', 'operator-admin'],
    owner: 'none',
    ok: 200,
    build: () => ({ url: '/v1/operator/merchant-applications?state=submitted&limit=5' }),
  },
  'GET /v1/operator/merchant-applications/:merchant_id': {
    allowed: ['operator-read', 'operator-admin'],
    owner: 'none',
    ok: 200,
    build: async (w, side) => ({ url: `/v1/operator/merchant-applications/${await w.application(side)}` }),
  },
  'POST /v1/operator/merchant-applications/:merchant_id/review': {
    allowed: ['operator-admin'],
    owner: 'none',
    ok: 200,
    build: async (w, side) => ({
      url: `/v1/operator/merchant-applications/${await w.application(side, true)}/review`,
      payload: { action: 'approve' },
    }),
  },
  'PUT /v1/operator/merchant-applications/:merchant_id/terms': {
    allowed: ['operator-admin'],
    owner: 'none',
    ok: 200,
    build: async (w, side) => ({
      url: `/v1/operator/merchant-applications/${await w.application(side)}/terms`,
      payload: { mdr_bps: 45, settlement_cycle: 'T+2' },
    }),
  },
  'GET /v1/audit': {
    allowed: ['auditor', 'operator-read', 'operator-admin'],
    owner: 'none',
    ok: 200,
    build: () => ({ url: '/v1/audit?limit=5' }),
  },
  'GET /v1/sandbox/sms': {
    allowed: ['operator-admin'],
    owner: 'none',
    ok: 200,
    build: (w) => ({ url: `/v1/sandbox/sms?phone=${w.alice.phone}` }),
  },
  // Social (groups): members act as owners; staff may read.
  'POST /v1/groups': {
    allowed: ['user'],
    owner: 'none',
    ok: 201,
    build: () => ({ url: '/v1/groups', payload: { name: 'Lunch' } }),
  },
  'GET /v1/groups': { allowed: ['user'], owner: 'none', ok: 200, build: () => ({ url: '/v1/groups' }) },
  'GET /v1/groups/:group_id': {
    allowed: USER_READERS,
    owner: 'user',
    ok: 200,
    build: async (w, side) => ({ url: `/v1/groups/${await w.group(side)}` }),
  },
  'POST /v1/groups/:group_id/members': {
    allowed: ['user'],
    owner: 'user',
    ok: 200,
    build: async (w, side) => ({
      url: `/v1/groups/${await w.group(side)}/members`,
      payload: { user_ids: [w.carol.id] },
    }),
  },
  'DELETE /v1/groups/:group_id/members/:user_id': {
    allowed: ['user'],
    owner: 'user',
    ok: 204,
    build: async (w, side) => ({
      url: `/v1/groups/${await w.group(side, [w.carol.id])}/members/${w.carol.id}`,
    }),
  },
  'POST /v1/groups/:group_id/messages': {
    allowed: ['user'],
    owner: 'user',
    ok: 201,
    build: async (w, side) => ({
      url: `/v1/groups/${await w.group(side)}/messages`,
      payload: { text: 'hello' },
    }),
  },
  'GET /v1/groups/:group_id/events': {
    allowed: USER_READERS,
    owner: 'user',
    ok: 200,
    build: async (w, side) => ({ url: `/v1/groups/${await w.group(side)}/events` }),
  },
  // Wallet (issue 5). Money routes stop at the Idempotency-Key check (the matrix sends none);
  // card binding stops at the step-up, before anything reaches a bank.
  'GET /v1/users/:user_id/wallet': userRoute('/wallet', USER_READERS, 200),
  'GET /v1/users/:user_id/cards': userRoute('/cards', USER_READERS, 200),
  'POST /v1/users/:user_id/cards/verifications': {
    ...userRoute(
      '/cards/verifications',
      ['user'],
      403,
      () => ({ pan: '6222020000000000', phone: '13800000901' }),
      'step_up_required',
    ),
    stepUp: 'card.bind',
  },
  'POST /v1/users/:user_id/cards': userRoute(
    '/cards',
    ['user'],
    404,
    () => ({ verification_id: 'no-such-verification', sms_code: '123456' }),
    'card_verification_not_found',
  ),
  'DELETE /v1/users/:user_id/cards/:card_id': userRoute(
    '/cards/00000000-0000-4000-8000-000000000000',
    ['user'],
    404,
    undefined,
    'card_not_found',
  ),
  'POST /v1/users/:user_id/top-ups': {
    ...userRoute(
      '/top-ups',
      ['user'],
      400,
      async (w, side) => ({ card_id: await w.card(side), amount: '100' }),
      'idempotency_key_required',
    ),
    stepUp: 'top_up',
  },
  'POST /v1/users/:user_id/withdrawals': {
    ...userRoute(
      '/withdrawals',
      ['user'],
      400,
      async (w, side) => ({ card_id: await w.card(side), amount: '100' }),
      'idempotency_key_required',
    ),
    stepUp: 'withdraw',
  },
  'GET /v1/users/:user_id/bank-operations/:operation_id': {
    allowed: USER_READERS,
    owner: 'user',
    ok: 200,
    build: async (w, side) => {
      const userId = w.userOf(side).id;
      return { url: `/v1/users/${userId}/bank-operations/${await walletOperation(userId)}` };
    },
  },
  'POST /v1/users/:user_id/transfers': userRoute(
    '/transfers',
    ['user'],
    400,
    (w) => ({ to_user_id: w.carol.id, amount: '100', proof: { type: 'none' } }),
    'idempotency_key_required',
  ),
  'GET /v1/users/:user_id/transfers/:transfer_id': {
    allowed: USER_READERS,
    owner: 'user',
    ok: 200,
    build: async (w, side) => {
      const userId = w.userOf(side).id;
      return { url: `/v1/users/${userId}/transfers/${await walletTransfer(userId, w.carol.id)}` };
    },
  },
  'POST /v1/users/:user_id/transfers/:transfer_id/accept': {
    allowed: ['user'],
    owner: 'user',
    ok: 400,
    okCode: 'idempotency_key_required',
    build: async (w, side) => {
      const userId = w.userOf(side).id;
      return {
        url: `/v1/users/${userId}/transfers/${await walletTransfer(w.carol.id, userId)}/accept`,
        payload: {},
      };
    },
  },
  'POST /v1/users/:user_id/transfers/:transfer_id/cancel': {
    allowed: ['user'],
    owner: 'user',
    ok: 400,
    okCode: 'idempotency_key_required',
    build: async (w, side) => {
      const userId = w.userOf(side).id;
      return {
        url: `/v1/users/${userId}/transfers/${await walletTransfer(userId, w.carol.id)}/cancel`,
        payload: {},
      };
    },
  },
  'GET /v1/users/:user_id/statement': userRoute('/statement', USER_READERS, 200),
  'GET /v1/users/:user_id/statement.csv': userRoute('/statement.csv', USER_READERS, 200),
  'GET /v1/users/:user_id/statement/:item_id': userRoute(
    '/statement/00000000-0000-4000-8000-000000000000',
    USER_READERS,
    404,
    undefined,
    'statement_item_not_found',
  ),
  'POST /v1/bank/callbacks': {
    allowed: 'public',
    owner: 'none',
    ok: 401,
    build: () => ({ url: '/v1/bank/callbacks', payload: { id: 'evt_matrix' } }),
  },
  'POST /v1/operator/reconciliation/runs': {
    allowed: ['operator-admin'],
    owner: 'none',
    ok: 400,
    okCode: 'idempotency_key_required',
    build: () => ({ url: '/v1/operator/reconciliation/runs', payload: { date: '2026-01-01' } }),
  },
  'GET /v1/operator/reconciliation/items': {
    allowed: STAFF,
    owner: 'none',
    ok: 200,
    build: () => ({ url: '/v1/operator/reconciliation/items?state=open' }),
  },
  'POST /v1/operator/reconciliation/items/:item_id/resolve': {
    allowed: ['operator-admin'],
    owner: 'none',
    ok: 400,
    okCode: 'idempotency_key_required',
    build: () => ({
      url: '/v1/operator/reconciliation/items/00000000-0000-4000-8000-000000000000/resolve',
      payload: { resolution: 'dismiss', note: 'matrix' },
    }),
  },
  // Ledger (operators only): reads for operator-read and -admin, writes for operator-admin.
  'POST /v1/ledger/accounts': {
    allowed: ['operator-admin'],
    owner: 'none',
    ok: 200,
    build: () => ({
      url: '/v1/ledger/accounts',
      payload: { accounts: [{ id: randomUUID(), ledger: 1, code: 9001 }] },
    }),
  },
  'POST /v1/ledger/transfers': {
    allowed: ['operator-admin'],
    owner: 'none',
    ok: 200,
    build: async () => ({
      url: '/v1/ledger/transfers',
      payload: {
        transfers: [
          {
            id: randomUUID(),
            debit_account_id: await ledgerAccount(),
            credit_account_id: await ledgerAccount(),
            amount: '1',
            ledger: 1,
            code: 9001,
          },
        ],
      },
    }),
  },
  'GET /v1/ledger/accounts/:account_id': {
    allowed: LEDGER_READERS,
    owner: 'none',
    ok: 200,
    build: async () => ({ url: `/v1/ledger/accounts/${await ledgerAccount()}` }),
  },
  'GET /v1/ledger/accounts/:account_id/transfers': {
    allowed: LEDGER_READERS,
    owner: 'none',
    ok: 200,
    build: async () => ({ url: `/v1/ledger/accounts/${await ledgerAccount()}/transfers` }),
  },
  'GET /v1/ledger/accounts': {
    allowed: LEDGER_READERS,
    owner: 'none',
    ok: 200,
    build: () => ({ url: '/v1/ledger/accounts?code=1&limit=5' }),
  },
  'GET /v1/ledger/transfers': {
    allowed: LEDGER_READERS,
    owner: 'none',
    ok: 200,
    build: () => ({ url: '/v1/ledger/transfers?code=9001&limit=5' }),
  },
  'GET /v1/ledger/accounts/:account_id/balance-history': {
    allowed: LEDGER_READERS,
    owner: 'none',
    ok: 200,
    build: async () => ({ url: `/v1/ledger/accounts/${await ledgerAccount()}/balance-history` }),
  },
  'GET /v1/ledger/accounts/:account_id/balances': {
    allowed: LEDGER_READERS,
    owner: 'none',
    ok: 404,
    okCode: 'ledger_account_not_yet_created',
    build: async () => ({ url: `/v1/ledger/accounts/${await ledgerAccount()}/balances?as_of=1` }),
  },
  'GET /v1/ledger/transfers/:transfer_id': {
    allowed: LEDGER_READERS,
    owner: 'none',
    ok: 404,
    okCode: 'ledger_transfer_not_found',
    build: () => ({ url: `/v1/ledger/transfers/${randomUUID()}` }),
  },
  'GET /v1/ledger/verify': {
    allowed: LEDGER_READERS,
    owner: 'none',
    ok: 200,
    build: () => ({ url: '/v1/ledger/verify' }),
  },
  // Red envelopes: members of the envelope's group (or its recipient) may grab; the sender may read.
  'POST /v1/envelopes': {
    allowed: ['user'],
    owner: 'none',
    ok: 400,
    okCode: 'idempotency_key_required',
    build: () => ({
      url: '/v1/envelopes',
      payload: { group_id: randomUUID(), kind: 'lucky', amount: '100', shares: 1, proof: { type: 'none' } },
    }),
  },
  'POST /v1/envelopes/:envelope_id/grab': {
    allowed: ['user'],
    owner: 'user',
    ok: 200,
    build: async (w, side) => ({ url: `/v1/envelopes/${await w.envelope(side)}/grab` }),
  },
  'GET /v1/envelopes/:envelope_id': {
    allowed: USER_READERS,
    owner: 'user',
    ok: 200,
    build: async (w, side) => ({ url: `/v1/envelopes/${await w.envelope(side)}` }),
  },
  'GET /v1/envelope-rules': {
    allowed: USER_READERS,
    owner: 'none',
    ok: 200,
    build: () => ({ url: '/v1/envelope-rules' }),
  },
  'POST /v1/operator/storms': {
    allowed: ['operator-admin'],
    owner: 'none',
    ok: 400,
    okCode: 'idempotency_key_required',
    build: () => ({ url: '/v1/operator/storms', payload: { envelopes: 1, shares: 1, grabbers: 1 } }),
  },
  'GET /v1/operator/storms/:storm_id': {
    allowed: LEDGER_READERS,
    owner: 'none',
    ok: 404,
    okCode: 'storm_not_found',
    build: () => ({ url: `/v1/operator/storms/${randomUUID()}` }),
  },
  // Web apps (src/web): pages and assets are public; an unknown asset is the plain route 404.
  'GET /': { allowed: 'public', owner: 'none', ok: 200, build: () => ({ url: '/' }) },
  'GET /console': { allowed: 'public', owner: 'none', ok: 200, build: () => ({ url: '/console' }) },
  'GET /assets/*': {
    allowed: 'public',
    owner: 'none',
    ok: 404,
    okCode: 'route_not_found',
    build: () => ({ url: '/assets/no-such-asset.js' }),
  },
  'GET /:file': {
    allowed: 'public',
    owner: 'none',
    ok: 404,
    okCode: 'route_not_found',
    build: () => ({ url: '/no-such-file.txt' }),
  },
  'GET /v1/operator/dashboard': {
    allowed: LEDGER_READERS,
    owner: 'none',
    ok: 200,
    build: () => ({ url: '/v1/operator/dashboard' }),
  },
  'GET /v1/operator/ledger-accounts': {
    allowed: LEDGER_READERS,
    owner: 'none',
    ok: 200,
    build: (w) => ({ url: `/v1/operator/ledger-accounts?user_id=${w.alice.id}` }),
  },
  'GET /v1/recipients': {
    allowed: ['user'],
    owner: 'none',
    ok: 200,
    build: (w) => ({ url: `/v1/recipients?phone=${w.bob.phone}` }),
  },
  'GET /v1/groups/:group_id/stream': {
    allowed: ['user'],
    owner: 'user',
    ok: 200,
    stream: true,
    build: async (w, side) => ({ url: `/v1/groups/${await w.group(side)}/stream` }),
  },
};

/** Every route the app registered, hidden ones included (docs routes are platform-public). */
function registeredRoutes(): string[] {
  return app.http.registeredRoutes
    .filter((route) => !/^\/(docs|openapi\.json)(\/|$)/.test(route.url))
    .map((route) => `${route.method} ${route.url}`)
    .sort();
}

function expected(fixture: Fixture, caller: Role | 'anonymous', side: Side): Outcome {
  if (fixture.allowed === 'public') return 'ok';
  if (caller === 'anonymous') return 'unauthenticated';
  if (!fixture.allowed.includes(caller)) return 'forbidden';
  const ownsKind =
    (caller === 'user' && fixture.owner === 'user') ||
    (caller === 'merchant' && fixture.owner === 'merchant');
  if (ownsKind && side === 'other') return 'hidden';
  return 'ok';
}

let baseUrl = '';
before(async () => {
  app = await createTestApp();
  world = new World();
  await world.init();
  baseUrl = await app.http.listen({ port: 0, host: '127.0.0.1' });
});
after(() => app.close());

test('every registered route has a fixture, and every fixture a route', () => {
  const routes = registeredRoutes();
  const missing = routes.filter((route) => !(route in FIXTURES));
  assert.deepEqual(
    missing,
    [],
    `Add these routes to FIXTURES in test/authorization-matrix.test.ts: ${missing.join(', ')}`,
  );
  const stale = Object.keys(FIXTURES).filter((key) => !routes.includes(key));
  assert.deepEqual(stale, [], `These fixtures name routes that no longer exist: ${stale.join(', ')}`);
});

test('every route × caller × {own, other} gives the expected outcome', async () => {
  let cells = 0;
  const failures: string[] = [];
  for (const [key, fixture] of Object.entries(FIXTURES)) {
    const [method, pattern] = key.split(' ') as [string, string];
    for (const caller of CALLERS) {
      for (const side of ['own', 'other'] as const) {
        const want = expected(fixture, caller, side);
        const built = await fixture.build(world, side);
        const headers = await world.headers(caller);
        const { status, code } =
          fixture.stream && want === 'ok'
            ? await openStream(built.url, headers)
            : await call(method, built, headers);
        const got = classify(fixture, status, code);
        if (got !== want)
          failures.push(
            `${key} as ${caller} on ${side}: expected ${want}, got ${status} ${code ?? ''} ${built.url}`,
          );
        cells++;
        void pattern;
      }
    }
  }
  console.log(`authorization matrix: ${cells} cells asserted over ${Object.keys(FIXTURES).length} routes`);
  assert.deepEqual(failures, []);
});

test('a merchant key without the needed scope is refused', async () => {
  const narrow = await app.merchants.createApiKey(
    world.merchants.own,
    { name: 'narrow', scopes: ['payments:read'] },
    { actor: 'test', scopes: 'any' },
  );
  const response = await app.http.inject({
    method: 'GET',
    url: `/v1/merchants/${world.merchants.own}/api-keys`,
    headers: { authorization: `Bearer ${narrow.key}` },
  });
  assert.equal(response.statusCode, 403);
  assert.equal(response.json().error.code, 'insufficient_scope');
});

async function call(method: string, built: Built, headers: Record<string, string>) {
  const response = await app.http.inject({
    method: method as 'GET',
    url: built.url,
    headers,
    ...(built.payload !== undefined ? { payload: built.payload as object } : {}),
  });
  let code: string | undefined;
  try {
    code = response.json()?.error?.code;
  } catch {
    code = undefined;
  }
  return { status: response.statusCode, code };
}

async function openStream(url: string, headers: Record<string, string>) {
  const abort = new AbortController();
  const response = await fetch(`${baseUrl}${url}`, { headers, signal: abort.signal });
  abort.abort();
  return { status: response.status, code: undefined };
}

function classify(fixture: Fixture, status: number, code: string | undefined): Outcome | string {
  if (status === 401 && code === 'authentication_required') return 'unauthenticated';
  if (status === 403 && (code === 'forbidden' || code === 'insufficient_scope')) return 'forbidden';
  if (status === 404 && code === 'not_found') return 'hidden';
  if (status === fixture.ok && (fixture.okCode === undefined || fixture.okCode === code)) return 'ok';
  return `unexpected ${status} ${code ?? ''}`;
}

/** What a stolen session could change on Alice's account, to compare before and after. */
async function aliceState() {
  const id = world.alice.id;
  const [devices, user, cards, wallet, operations] = await Promise.all([
    app.db.query("SELECT id FROM identity_devices WHERE user_id = $1 AND status = 'active'", [id]),
    app.identity.getUser(id),
    app.wallet.cards.list(id),
    app.wallet.balance(id),
    app.db.query('SELECT id FROM wallet_bank_operations WHERE user_id = $1', [id]),
  ]);
  return {
    devices: devices.rows.length,
    phone: user!.phone,
    passwordFree: user!.password_free_enabled,
    cards: cards.length,
    wallet,
    operations: operations.rows.length,
  };
}

test('every sensitive route demands a step-up bound to its purpose; refused, nothing changes', async () => {
  const sensitive = Object.entries(FIXTURES)
    .filter(([, fixture]) => fixture.stepUp)
    .map(([key, fixture]) => [key, fixture.stepUp] as const);
  assert.deepEqual(Object.fromEntries(sensitive), {
    'PATCH /v1/users/:user_id/payment-settings': 'password_free.enable',
    'PUT /v1/users/:user_id/phone': 'phone.change',
    'POST /v1/users/:user_id/devices': 'device.add',
    'POST /v1/users/:user_id/passkeys': 'device.add',
    'POST /v1/users/:user_id/cards/verifications': 'card.bind',
    'POST /v1/users/:user_id/top-ups': 'top_up',
    'POST /v1/users/:user_id/withdrawals': 'withdraw',
  });
  await app.identity.context.db.query(
    'UPDATE identity_users SET password_free_enabled = false WHERE id = $1',
    [world.alice.id],
  );
  const { deviceId, key } = await world.deviceWithKey('own');
  const before = await aliceState();
  const failures: string[] = [];
  for (const [routeKey, action] of sensitive) {
    const fixture = FIXTURES[routeKey]!;
    const [method] = routeKey.split(' ') as [string];
    // A challenge Alice's own device signed, but for another purpose (a transfer).
    const other = await app.identity.createPaymentChallenge(world.alice.id, {
      amount: 100n,
      currency: 'CNY',
      payee: 'merchant:m1',
      purpose: action === 'top_up' ? 'withdraw' : 'order:1',
    });
    const wrongPurpose = {
      type: 'device_signature',
      challenge_id: other.challenge_id,
      device_id: deviceId,
      signature: key.sign(other.payload),
    };
    for (const [proof, code] of [
      [undefined, 'step_up_required'],
      [{ type: 'none' }, 'step_up_required'],
      [wrongPurpose, 'challenge_purpose_mismatch'],
    ] as const) {
      const built = await fixture.build(world, 'own');
      const payload = { ...(built.payload as object), ...(proof ? { proof } : {}) };
      const headers = { ...(await world.headers('user')), 'idempotency-key': randomUUID() };
      const { status, code: got } = await call(method, { url: built.url, payload }, headers);
      if (status !== 403 || got !== code)
        failures.push(
          `${routeKey} with proof ${proof?.type ?? 'missing'}: ${status} ${got}, want 403 ${code}`,
        );
    }
  }
  assert.deepEqual(failures, []);
  assert.deepEqual(await aliceState(), before, 'no device, setting, phone, card or money changed');
});

test('ids inside request bodies: another user’s card, device or challenge is refused, nothing moves', async () => {
  const bobsCard = await world.card('other');
  const bobsDevice = await world.deviceWithKey('other');
  const ownCard = await world.card('own');
  const headers = async () => ({ ...(await world.headers('user')), 'idempotency-key': randomUUID() });
  const before = await aliceState();
  const bobBefore = await app.wallet.balance(world.bob.id);
  const base = `/v1/users/${world.alice.id}`;
  const aliceChallenge = await app.identity.createPaymentChallenge(world.alice.id, {
    amount: 100n,
    currency: 'CNY',
    payee: `card:${bobsCard}`,
    purpose: 'withdraw',
  });
  const bobsChallenge = await app.identity.createPaymentChallenge(world.bob.id, {
    amount: 0n,
    currency: 'CNY',
    payee: `user:${world.bob.id}`,
    purpose: 'device.add',
  });
  const cases: Array<[string, string, string, object, number, string]> = [
    [
      'top-up from Bob’s card',
      'POST',
      `${base}/top-ups`,
      { card_id: bobsCard, amount: '100', proof: { type: 'pin', pin: '000000' } },
      404,
      'card_not_found',
    ],
    [
      'withdrawal to Bob’s card',
      'POST',
      `${base}/withdrawals`,
      { card_id: bobsCard, amount: '100', proof: { type: 'none' } },
      404,
      'card_not_found',
    ],
    [
      'a withdraw challenge signed by Bob’s device, used for a top-up',
      'POST',
      `${base}/top-ups`,
      {
        card_id: ownCard,
        amount: '100',
        proof: {
          type: 'device_signature',
          challenge_id: aliceChallenge.challenge_id,
          device_id: bobsDevice.deviceId,
          signature: bobsDevice.key.sign(aliceChallenge.payload),
        },
      },
      403,
      'challenge_purpose_mismatch',
    ],
    [
      'Bob’s challenge used on Alice’s account',
      'PATCH',
      `${base}/payment-settings`,
      {
        password_free_enabled: true,
        proof: {
          type: 'device_signature',
          challenge_id: bobsChallenge.challenge_id,
          device_id: bobsDevice.deviceId,
          signature: bobsDevice.key.sign(bobsChallenge.payload),
        },
      },
      404,
      'challenge_not_found',
    ],
    [
      'Bob’s device renamed through Alice’s session',
      'PATCH',
      `/v1/devices/${bobsDevice.deviceId}`,
      { name: 'mine now' },
      404,
      'not_found',
    ],
  ];
  const failures: string[] = [];
  for (const [what, method, url, payload, status, code] of cases) {
    const got = await call(method, { url, payload }, await headers());
    if (got.status !== status || got.code !== code)
      failures.push(`${what}: ${got.status} ${got.code}, want ${status} ${code}`);
  }
  // Bob's device signing a challenge of Alice's that matches the action: the device is not hers.
  const matching = await app.identity.createPaymentChallenge(world.alice.id, {
    amount: 100n,
    currency: 'CNY',
    payee: `card:${ownCard}`,
    purpose: 'top_up',
  });
  const foreignDevice = await call(
    'POST',
    {
      url: `${base}/top-ups`,
      payload: {
        card_id: ownCard,
        amount: '100',
        proof: {
          type: 'device_signature',
          challenge_id: matching.challenge_id,
          device_id: bobsDevice.deviceId,
          signature: bobsDevice.key.sign(matching.payload),
        },
      },
    },
    await headers(),
  );
  if (foreignDevice.status !== 403 || foreignDevice.code !== 'device_not_usable')
    failures.push(`Bob's device on Alice's top-up: ${foreignDevice.status} ${foreignDevice.code}`);
  assert.deepEqual(failures, []);
  assert.deepEqual(await aliceState(), before);
  assert.deepEqual(await app.wallet.balance(world.bob.id), bobBefore);
});
