import type { FastifyInstance, FastifyRequest } from 'fastify';
import { applicationView, type Onboarding, type ProfilePatch, type TermsInput } from './onboarding.ts';
import { MAX_MDR_BPS, MERCHANT_SCENARIOS, type ProfileInput } from './profile.ts';
import { OPERATOR_REVIEW_ACTIONS, REVIEW_STATES, type ReviewAction, type ReviewState } from './review.ts';

/** JSON schemas of the onboarding routes. Request objects are strict (no unknown properties). */
const UUID = {
  type: 'string',
  pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$',
} as const;
const TIMESTAMP = { type: 'string', format: 'date-time' } as const;
const NULLABLE_TIMESTAMP = { type: ['string', 'null'], format: 'date-time' } as const;
const EMPTY_BODY = { type: 'object', additionalProperties: false, properties: {} } as const;
const TEXT = (maxLength: number, description?: string) =>
  ({ type: 'string', minLength: 1, maxLength, ...(description ? { description } : {}) }) as const;

function strictObject(properties: Record<string, unknown>, required: string[] = Object.keys(properties)) {
  return { type: 'object', additionalProperties: false, properties, required } as const;
}

const BANK_ACCOUNT_INPUT = strictObject({
  holder: TEXT(100, 'Must equal the business name'),
  bank_name: TEXT(100),
  number: TEXT(40, 'Account number, 10 to 30 digits (spaces ignored)'),
});

const PROFILE_PROPERTIES = {
  business_name: TEXT(100),
  uscc: TEXT(40, 'Unified social credit code (统一社会信用代码): 18 characters, checked per GB 32100-2015'),
  legal_representative: TEXT(64),
  mcc: { type: 'string', description: 'Merchant category code, 4 digits', examples: ['5812'] },
  scenario: { type: 'string', enum: [...MERCHANT_SCENARIOS] },
  contact_phone: { type: 'string', description: 'Mainland mobile number', examples: ['13812345678'] },
  bank_account: BANK_ACCOUNT_INPUT,
} as const;

/** A complete, valid profile (its USCC's check character is right). */
const PROFILE_EXAMPLE = {
  business_name: 'Corner Noodles Ltd',
  uscc: '91350100M000100Y43',
  legal_representative: '张三',
  mcc: '5812',
  scenario: 'catering',
  contact_phone: '13812345678',
  bank_account: { holder: 'Corner Noodles Ltd', bank_name: 'Sandbox Bank', number: '6222020000001234' },
};

const TERMS_PROPERTIES = {
  mdr_bps: {
    type: 'integer',
    minimum: 0,
    maximum: MAX_MDR_BPS,
    description: 'Merchant discount rate in basis points (60 = 0.6%)',
  },
  settlement_cycle: { type: 'string', description: 'T+0 .. T+7', examples: ['T+1'] },
} as const;

const APPLICATION = {
  type: 'object',
  properties: {
    id: UUID,
    merchant_id: UUID,
    state: { type: 'string', enum: [...REVIEW_STATES] },
    reason: { type: ['string', 'null'] },
    allowed_actions: { type: 'array', items: { type: 'string' } },
    applicant_user_id: { type: ['string', 'null'] },
    business_name: { type: 'string' },
    uscc: { type: 'string' },
    legal_representative: { type: 'string' },
    mcc: { type: 'string' },
    scenario: { type: 'string' },
    contact_phone: { type: 'string', description: 'Masked: 138****5678' },
    bank_account: {
      type: 'object',
      properties: {
        holder: { type: 'string' },
        bank_name: { type: 'string' },
        number: { type: 'string', description: 'Masked: ****1234' },
      },
    },
    fee_plan: { type: 'object', properties: { mdr_bps: { type: 'integer' } } },
    settlement_cycle: { type: 'string' },
    created_at: TIMESTAMP,
    updated_at: TIMESTAMP,
    submitted_at: NULLABLE_TIMESTAMP,
    reviewed_at: NULLABLE_TIMESTAMP,
  },
} as const;
const APPLICATION_LIST = {
  type: 'object',
  properties: { applications: { type: 'array', items: APPLICATION } },
} as const;
const LIST_QUERY = strictObject(
  {
    state: { type: 'string', enum: [...REVIEW_STATES] },
    limit: { type: 'string', pattern: '^[1-9][0-9]{0,2}$', description: '1-200, default 100' },
  },
  [],
);

type Params = { merchant_id: string };

/**
 * Onboarding routes: a signed-in user's merchant application (create, read, edit while draft or
 * needs_changes, submit), and the operator side (onboard directly, list by state, review steps,
 * fee plan and settlement cycle).
 */
export function onboardingRoutes(
  onboarding: Onboarding,
  owner: (merchantId: string) => Promise<string | undefined>,
) {
  return async (app: FastifyInstance) => {
    const applicant = (request: FastifyRequest) => owner((request.params as Params).merchant_id);

    app.post<{ Body: ProfileInput }>(
      '/v1/merchant-applications',
      {
        config: { policy: { roles: ['user'] } },
        schema: {
          tags: ['merchants'],
          summary: 'Apply for a merchant account (a draft, submitted later)',
          body: { ...strictObject(PROFILE_PROPERTIES), examples: [PROFILE_EXAMPLE] },
          response: { 201: APPLICATION },
        },
      },
      async (request, reply) => {
        const principal = request.principal!;
        const created = await onboarding.apply(principal.id, request.body, principal.key);
        return reply.status(201).send(applicationView(created));
      },
    );

    app.get(
      '/v1/merchant-applications',
      {
        config: { policy: { roles: ['user'] } },
        schema: {
          tags: ['merchants'],
          summary: 'My merchant applications, most recently changed first',
          response: { 200: APPLICATION_LIST },
        },
      },
      async (request) => ({
        applications: (await onboarding.list({ applicantUserId: request.principal!.id })).map(
          applicationView,
        ),
      }),
    );

    app.get<{ Params: Params }>(
      '/v1/merchant-applications/:merchant_id',
      {
        config: { policy: { roles: ['user', 'operator-read', 'operator-admin'], owner: applicant } },
        schema: {
          tags: ['merchants'],
          summary: 'A merchant application',
          params: strictObject({ merchant_id: UUID }),
          response: { 200: APPLICATION },
        },
      },
      async (request) => applicationView(await onboarding.get(request.params.merchant_id)),
    );

    app.patch<{ Params: Params; Body: ProfilePatch }>(
      '/v1/merchant-applications/:merchant_id',
      {
        config: { policy: { roles: ['user'], owner: applicant } },
        schema: {
          tags: ['merchants'],
          summary: 'Change an application while it is draft or needs_changes',
          params: strictObject({ merchant_id: UUID }),
          body: { ...strictObject(PROFILE_PROPERTIES, []), minProperties: 1 },
          response: { 200: APPLICATION },
        },
      },
      async (request) =>
        applicationView(
          await onboarding.update(request.params.merchant_id, request.body, request.principal!.key),
        ),
    );

    app.post<{ Params: Params }>(
      '/v1/merchant-applications/:merchant_id/submit',
      {
        config: { policy: { roles: ['user'], owner: applicant } },
        schema: {
          tags: ['merchants'],
          summary: 'Submit an application for review',
          params: strictObject({ merchant_id: UUID }),
          body: EMPTY_BODY,
          response: { 200: APPLICATION },
        },
      },
      async (request) =>
        applicationView(await onboarding.submit(request.params.merchant_id, request.principal!.key)),
    );

    app.post<{ Body: ProfileInput & TermsInput & { approve?: boolean } }>(
      '/v1/operator/merchant-applications',
      {
        config: { policy: { roles: ['operator-admin'] } },
        schema: {
          tags: ['operator'],
          summary: 'Onboard a business directly (submitted, or approved at once with approve: true)',
          body: strictObject({ ...PROFILE_PROPERTIES, ...TERMS_PROPERTIES, approve: { type: 'boolean' } }, [
            ...Object.keys(PROFILE_PROPERTIES),
          ]),
          response: { 201: APPLICATION },
        },
      },
      async (request, reply) =>
        reply
          .status(201)
          .send(applicationView(await onboarding.onboardByOperator(request.body, request.principal!.key))),
    );

    app.get<{ Querystring: { state?: ReviewState; limit?: string } }>(
      '/v1/operator/merchant-applications',
      {
        config: { policy: { roles: ['operator-read', 'operator-admin'] } },
        schema: {
          tags: ['operator'],
          summary: 'Merchant applications by review state, most recently changed first',
          querystring: LIST_QUERY,
          response: { 200: APPLICATION_LIST },
        },
      },
      async (request) => ({
        applications: (
          await onboarding.list({
            state: request.query.state,
            limit: Math.min(200, Number(request.query.limit ?? 100)),
          })
        ).map(applicationView),
      }),
    );

    app.get<{ Params: Params }>(
      '/v1/operator/merchant-applications/:merchant_id',
      {
        config: { policy: { roles: ['operator-read', 'operator-admin'] } },
        schema: {
          tags: ['operator'],
          summary: 'A merchant application (any applicant, or onboarded by an operator)',
          params: strictObject({ merchant_id: UUID }),
          response: { 200: APPLICATION },
        },
      },
      async (request) => applicationView(await onboarding.get(request.params.merchant_id)),
    );

    app.post<{ Params: Params; Body: { action: ReviewAction; reason?: string } }>(
      '/v1/operator/merchant-applications/:merchant_id/review',
      {
        config: { policy: { roles: ['operator-admin'] } },
        schema: {
          tags: ['operator'],
          summary: 'A review step: approve, reject, request_changes, suspend, reinstate or close',
          description:
            'reject, request_changes and suspend need a reason (shown to the applicant). A step the state does not allow answers 409 merchant_state_invalid with the allowed actions in details.',
          params: strictObject({ merchant_id: UUID }),
          body: strictObject(
            {
              action: { type: 'string', enum: [...OPERATOR_REVIEW_ACTIONS] },
              reason: { type: 'string', maxLength: 500 },
            },
            ['action'],
          ),
          response: { 200: APPLICATION },
        },
      },
      async (request) =>
        applicationView(
          await onboarding.review(
            request.params.merchant_id,
            request.body.action,
            request.principal!.key,
            request.body.reason,
          ),
        ),
    );

    app.put<{ Params: Params; Body: TermsInput }>(
      '/v1/operator/merchant-applications/:merchant_id/terms',
      {
        config: { policy: { roles: ['operator-admin'] } },
        schema: {
          tags: ['operator'],
          summary: "Set a merchant's fee plan (MDR, basis points) and settlement cycle (T+0..T+7)",
          params: strictObject({ merchant_id: UUID }),
          body: { ...strictObject(TERMS_PROPERTIES, []), minProperties: 1 },
          response: { 200: APPLICATION },
        },
      },
      async (request) =>
        applicationView(
          await onboarding.setTerms(request.params.merchant_id, request.body, request.principal!.key),
        ),
    );
  };
}
