import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import type { PaymentProof } from './payment-authorization.ts';

/**
 * The JSON shape money-moving routes accept for the payment proof, so every module's
 * routes take the same thing:
 *   {"type":"none"} | {"type":"pin","pin":"135790"}
 *   | {"type":"device_signature","challenge_id","device_id","signature"}
 *   | {"type":"webauthn","challenge_id","response":{...}}
 */
export const PAYMENT_PROOF_SCHEMA = {
  type: 'object',
  additionalProperties: false,
  required: ['type'],
  properties: {
    type: { type: 'string', enum: ['none', 'pin', 'device_signature', 'webauthn'] },
    pin: { type: 'string', pattern: '^[0-9]{6}$' },
    challenge_id: { type: 'string', pattern: '^[0-9a-f-]{36}$' },
    device_id: { type: 'string', pattern: '^[0-9a-f-]{36}$' },
    signature: { type: 'string', minLength: 40, maxLength: 400 },
    response: { type: 'object', additionalProperties: true },
  },
} as const;

export interface PaymentProofBody {
  type: 'none' | 'pin' | 'device_signature' | 'webauthn';
  pin?: string;
  challenge_id?: string;
  device_id?: string;
  signature?: string;
  response?: Record<string, unknown>;
}

/** Turns the wire shape into a PaymentProof; missing fields become an unusable proof that authorizePayment rejects. */
export function paymentProofFromBody(body: PaymentProofBody): PaymentProof {
  switch (body.type) {
    case 'pin':
      return { type: 'pin', pin: body.pin ?? '' };
    case 'device_signature':
      return {
        type: 'device_signature',
        challengeId: body.challenge_id ?? '',
        deviceId: body.device_id ?? '',
        signature: body.signature ?? '',
      };
    case 'webauthn':
      return {
        type: 'webauthn',
        challengeId: body.challenge_id ?? '',
        response: (body.response ?? {}) as unknown as AuthenticationResponseJSON,
      };
    default:
      return { type: 'none' };
  }
}

/** A step-up route's optional proof: absent stays absent, so the service answers step_up_required. */
export function stepUpProofFromBody(body: PaymentProofBody | undefined): PaymentProof | undefined {
  return body === undefined ? undefined : paymentProofFromBody(body);
}
