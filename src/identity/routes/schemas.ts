import { AMOUNT_PATTERN } from '../../platform/money.ts';
import { PIN_PATTERN } from '../pin.ts';
import { PHONE_PATTERN } from '../sms-codes.ts';

/** JSON schemas shared by identity routes. Request objects are strict (no unknown properties). */
export const UUID = {
  type: 'string',
  pattern: '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$',
} as const;
export const PHONE = {
  type: 'string',
  pattern: PHONE_PATTERN,
  description: '11-digit mainland mobile number',
} as const;
export const PIN = {
  type: 'string',
  pattern: PIN_PATTERN,
  description: '6-digit payment PIN; never logged or returned',
} as const;
export const SMS_CODE = { type: 'string', pattern: '^[0-9]{6}$' } as const;
export const AMOUNT = {
  type: 'string',
  pattern: AMOUNT_PATTERN,
  description: 'Integer minor units (fen) as a string',
} as const;
export const NAME = { type: 'string', minLength: 1, maxLength: 64 } as const;
export const TIMESTAMP = { type: 'string', format: 'date-time' } as const;
export const NULLABLE_TIMESTAMP = { type: ['string', 'null'], format: 'date-time' } as const;

export function strictObject(
  properties: Record<string, unknown>,
  required: string[] = Object.keys(properties),
) {
  return { type: 'object', additionalProperties: false, properties, required } as const;
}

export function params(...names: string[]) {
  return strictObject(Object.fromEntries(names.map((name) => [name, UUID])));
}

export const EMPTY_BODY = { type: 'object', additionalProperties: false, properties: {} } as const;
export const NO_CONTENT = { 204: { type: 'null', description: 'Done' } } as const;

export const TOKENS = {
  type: 'object',
  required: ['session_id', 'access_token', 'refresh_token', 'token_type', 'expires_in'],
  properties: {
    session_id: UUID,
    access_token: { type: 'string' },
    refresh_token: { type: 'string' },
    token_type: { type: 'string', enum: ['Bearer'] },
    expires_in: { type: 'integer', description: 'Seconds until the access token expires' },
  },
} as const;

export const USER = {
  type: 'object',
  properties: {
    id: UUID,
    phone_masked: { type: 'string' },
    status: { type: 'string', enum: ['active', 'frozen'] },
    account_class: { type: 'string', enum: ['I', 'II', 'III'] },
    real_name_verified: { type: 'boolean' },
    real_name: { type: ['string', 'null'], description: 'Masked: surname only' },
    id_number_masked: { type: ['string', 'null'], description: 'e.g. 1101**********1234' },
    password_free_enabled: { type: 'boolean' },
    created_at: TIMESTAMP,
  },
} as const;

export const SESSION = {
  type: 'object',
  properties: {
    id: UUID,
    created_at: TIMESTAMP,
    last_refreshed_at: TIMESTAMP,
    expires_at: TIMESTAMP,
    user_agent: { type: ['string', 'null'] },
    current: { type: 'boolean' },
  },
} as const;

export const DEVICE = {
  type: 'object',
  properties: {
    id: UUID,
    kind: { type: 'string', enum: ['phone', 'browser', 'wearable'] },
    name: { type: 'string' },
    key_type: { type: 'string', enum: ['webauthn', 'p256', 'ed25519'] },
    user_verification: { type: 'boolean', description: 'The device proves fingerprint/face' },
    daily_limit: { type: ['string', 'null'], description: 'Own daily cap in fen, or null' },
    status: { type: 'string', enum: ['active', 'disabled'] },
    created_at: TIMESTAMP,
    last_used_at: NULLABLE_TIMESTAMP,
    disabled_at: NULLABLE_TIMESTAMP,
  },
} as const;

export const LIMIT_LINE = {
  type: 'object',
  properties: {
    name: { type: 'string' },
    period: { type: 'string' },
    cap: { type: ['string', 'null'] },
    used: { type: 'string' },
    remaining: { type: ['string', 'null'] },
  },
} as const;

export const AUDIT_ENTRY = {
  type: 'object',
  properties: {
    seq: { type: 'string' },
    at: TIMESTAMP,
    actor: { type: 'string' },
    action: { type: 'string' },
    subject: { type: 'string' },
    details: { type: 'object', additionalProperties: true },
    prev_hash: { type: 'string' },
    hash: { type: 'string' },
  },
} as const;

export const STAFF = {
  type: 'object',
  properties: {
    id: UUID,
    name: { type: 'string' },
    roles: { type: 'array', items: { type: 'string' } },
    status: { type: 'string' },
    created_at: TIMESTAMP,
  },
} as const;

/** Rate limits for routes an attacker would hammer: code sending, login, PIN entry. */
export const RATE_LIMITS = {
  sms: { max: 20, timeWindow: '1 minute' },
  login: { max: 30, timeWindow: '1 minute' },
  pin: { max: 20, timeWindow: '1 minute' },
} as const;
