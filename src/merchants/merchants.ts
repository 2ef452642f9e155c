import { timingSafeEqual } from 'node:crypto';
import type { Identity } from '../identity/index.ts';
import type { Clock } from '../platform/clock.ts';
import type { Database, Queryable } from '../platform/db/database.ts';
import { notFound, unauthenticated } from '../platform/errors.ts';
import type { Authenticator, Principal } from '../platform/http/policy.ts';
import { cryptoRandom, type RandomSource, uuidv7 } from '../platform/ids.ts';
import {
  API_KEY_PREFIX,
  assertMayGrant,
  type Grantor,
  newApiKey,
  parseApiKey,
  secretDigest,
  validateScopes,
} from './api-keys.ts';
import type { Onboarding } from './onboarding/onboarding.ts';
import {
  type ApiKeyRecord,
  apiKeyOwner,
  applicationOwner,
  getApiKey,
  getMerchant,
  insertApiKey,
  insertMerchant,
  keyForAuthentication,
  listApiKeys,
  lockActiveApiKey,
  type MerchantRecord,
  markApiKeyReplaced,
  merchantOwner,
  revokeApiKeyRow,
  touchApiKey,
} from './store.ts';
import type { Webhooks } from './webhooks/webhooks.ts';

export interface MerchantsDeps {
  db: Database;
  clock: Clock;
  /** Identity's audit log: merchants' actions are recorded there, in merchants' own transactions. */
  identity: Pick<Identity, 'audit'>;
  /** Signed webhooks: endpoints, the event outbox (`emit`), delivery, replay. */
  webhooks: Webhooks;
  /** Onboarding: applications, operator review, fee plan and settlement cycle. */
  onboarding: Onboarding;
  random?: RandomSource;
}

/**
 * The merchants module's service: merchant accounts, their API keys (created, rotated and
 * revoked by the merchant or an operator-admin) and the authenticator for those keys.
 *
 * Every change is recorded in identity's audit log through `identity.audit(entry, tx)` inside
 * the change's own transaction, so an action and its audit entry commit together or not at all
 * (as they did when merchants lived in identity). The alternative, auditing after our commit,
 * could lose an entry on a crash between the two; identity's SQL still writes its own table.
 */
export class Merchants {
  private readonly random: RandomSource;
  /** Signed webhooks; other modules emit events with `merchants.webhooks.emit(...)`. */
  readonly webhooks: Webhooks;
  /** Onboarding; checkout code gates payments with `assertCanTakePayments(merchant)`. */
  readonly onboarding: Onboarding;

  constructor(private readonly deps: MerchantsDeps) {
    this.random = deps.random ?? cryptoRandom;
    this.webhooks = deps.webhooks;
    this.onboarding = deps.onboarding;
  }

  /**
   * Creates a bare merchant account without onboarding (with `id`, when given: nothing new if it
   * exists). It has no profile (review_state null) and so takes no payments; onboarding goes
   * through `onboarding.apply` or `onboarding.onboardByOperator`.
   */
  async createMerchant(name: string, actor: string, id?: string): Promise<MerchantRecord> {
    const now = this.deps.clock.now();
    const merchantId = id ?? uuidv7(now.getTime());
    await this.deps.db.transaction(async (tx) => {
      await insertMerchant(tx, { id: merchantId, name, createdAt: now });
      await this.deps.identity.audit(
        { actor, action: 'merchant.created', subject: `merchant:${merchantId}`, details: { name } },
        tx,
      );
    });
    return (await getMerchant(this.deps.db, merchantId))!;
  }

  getMerchant(merchantId: string): Promise<MerchantRecord | undefined> {
    return getMerchant(this.deps.db, merchantId);
  }

  /** A merchant's keys, oldest first (never their secrets). */
  listApiKeys(merchantId: string): Promise<ApiKeyRecord[]> {
    return listApiKeys(this.deps.db, merchantId);
  }

  /** Returns the full key once; only its digest is kept. */
  async createApiKey(
    merchantId: string,
    input: { name: string; scopes: readonly string[] },
    grantor: Grantor,
  ): Promise<{ record: ApiKeyRecord; key: string }> {
    validateScopes(input.scopes);
    assertMayGrant(grantor, input.scopes);
    const { actor } = grantor;
    const created = await this.deps.db.transaction(async (tx) => {
      const key = await this.insertKey(tx, merchantId, input.name, input.scopes);
      await this.deps.identity.audit(
        {
          actor,
          action: 'api_key.created',
          subject: `merchant:${merchantId}`,
          details: { key_id: key.id, scopes: [...input.scopes] },
        },
        tx,
      );
      return key;
    });
    return { record: (await getApiKey(this.deps.db, created.id))!, key: created.key };
  }

  /**
   * Replaces a key with a new one of the same scopes; the old one stops working at once. The
   * caller gets the new secret, so it must hold every scope of the key (scope_not_held).
   */
  async rotateApiKey(keyId: string, grantor: Grantor): Promise<{ record: ApiKeyRecord; key: string }> {
    const now = this.deps.clock.now();
    const { actor } = grantor;
    const created = await this.deps.db.transaction(async (tx) => {
      const old = await lockActiveApiKey(tx, keyId);
      if (!old) throw notFound('api_key_not_found', 'No such active API key.');
      assertMayGrant(grantor, old.scopes);
      const key = await this.insertKey(tx, old.merchant_id, old.name, old.scopes);
      await markApiKeyReplaced(tx, keyId, now, key.id);
      await this.deps.identity.audit(
        {
          actor,
          action: 'api_key.rotated',
          subject: `merchant:${old.merchant_id}`,
          details: { key_id: keyId, new_key_id: key.id },
        },
        tx,
      );
      return key;
    });
    return { record: (await getApiKey(this.deps.db, created.id))!, key: created.key };
  }

  /** Revokes a key (again: nothing new); throws api_key_not_found for an unknown one. */
  async revokeApiKey(keyId: string, actor: string): Promise<ApiKeyRecord> {
    const now = this.deps.clock.now();
    await this.deps.db.transaction(async (tx) => {
      const revoked = await revokeApiKeyRow(tx, keyId, now);
      if (revoked)
        await this.deps.identity.audit(
          {
            actor,
            action: 'api_key.revoked',
            subject: `merchant:${revoked.merchant_id}`,
            details: { key_id: keyId },
          },
          tx,
        );
    });
    const key = await getApiKey(this.deps.db, keyId);
    if (!key) throw notFound('api_key_not_found', 'No such API key.');
    return key;
  }

  /**
   * Resolves `Authorization: Bearer tym_...` API keys; null for any other credential (session
   * tokens and the operator token are other authenticators' business). Throws for a malformed,
   * unknown or revoked key, and for a suspended merchant's.
   */
  readonly authenticator: Authenticator = async (request) => {
    const match = /^Bearer\s+(\S+)$/i.exec(request.headers.authorization ?? '');
    const token = match?.[1];
    if (!token?.startsWith(API_KEY_PREFIX)) return null;
    return this.authenticate(token);
  };

  /** The merchant principal of a presented key. */
  private async authenticate(presented: string): Promise<Principal> {
    const invalidKey = () =>
      unauthenticated('api_key_invalid', 'The API key is not valid or has been revoked.');
    const parts = parseApiKey(presented);
    if (!parts) throw invalidKey();
    const row = await keyForAuthentication(this.deps.db, parts.prefix);
    // Compared in constant time, against a dummy digest when the prefix is unknown.
    const expected = Buffer.from(row?.secret_digest ?? '0'.repeat(64), 'hex');
    const ok =
      timingSafeEqual(expected, Buffer.from(secretDigest(parts.secret), 'hex')) && row && !row.revoked_at;
    if (!ok || !row) throw invalidKey();
    if (row.status !== 'active')
      throw unauthenticated('merchant_suspended', 'This merchant account is suspended; contact support.');
    // Touch last_used_at at most once a minute so authentication stays one read on hot keys.
    void touchApiKey(this.deps.db, row.id, this.deps.clock.now()).catch(() => {});
    return {
      key: `merchant:${row.merchant_id}`,
      kind: 'merchant',
      id: row.merchant_id,
      roles: ['merchant'],
      credentialId: row.id,
      scopes: row.scopes,
    };
  }

  /** The merchant itself, if it exists (route owner resolver). */
  merchantOwner(merchantId: string): Promise<string | undefined> {
    return merchantOwner(this.deps.db, merchantId);
  }

  /** The user who applied for this merchant, if any (application route owner resolver). */
  applicationOwner(merchantId: string): Promise<string | undefined> {
    return applicationOwner(this.deps.db, merchantId);
  }

  /** The merchant owning an API key, if the key exists (route owner resolver). */
  apiKeyOwner(keyId: string): Promise<string | undefined> {
    return apiKeyOwner(this.deps.db, keyId);
  }

  private async insertKey(
    tx: Queryable,
    merchantId: string,
    name: string,
    scopes: readonly string[],
  ): Promise<{ id: string; key: string }> {
    const now = this.deps.clock.now();
    const id = uuidv7(now.getTime());
    const { key, prefix, digest } = newApiKey(this.random);
    await insertApiKey(tx, {
      id,
      merchantId,
      name,
      prefix,
      secretDigest: digest,
      scopes: [...new Set(scopes)],
      createdAt: now,
    });
    return { id, key };
  }
}

/** A key as the API shows it (never its secret). */
export function apiKeyView(key: ApiKeyRecord) {
  return {
    id: key.id,
    name: key.name,
    prefix: key.prefix,
    scopes: key.scopes,
    created_at: key.created_at.toISOString(),
    last_used_at: key.last_used_at?.toISOString() ?? null,
    revoked_at: key.revoked_at?.toISOString() ?? null,
  };
}

/** A merchant as the API shows it. */
export function merchantView(merchant: MerchantRecord) {
  return { ...merchant, created_at: merchant.created_at.toISOString() };
}
