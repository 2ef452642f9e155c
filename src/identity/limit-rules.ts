/**
 * Payment limits as pure rules (PBOC 2016 online-payment rules, QR rules 2018). Given the
 * user's class, the payment and how strongly it was verified, they say which counters the
 * payment charges and the cap of each. The limits service applies the charges atomically.
 * No I/O, no clock: the business date is passed in.
 */
export type AccountClass = 1 | 2 | 3;

/**
 * How strongly a payment was verified:
 * - signature: a device-key signature with user verification (fingerprint/face) -
 *   two factors including a signature;
 * - two_factor: the payment PIN, or a device signature without user verification;
 * - single_factor: password-free (the session alone).
 */
export type VerificationStrength = 'signature' | 'two_factor' | 'single_factor';
export const VERIFICATION_STRENGTHS: readonly VerificationStrength[] = [
  'signature',
  'two_factor',
  'single_factor',
];

export const PAYMENT_METHODS = [
  'balance_payment',
  'balance_transfer',
  'red_envelope',
  'static_qr',
  'dynamic_qr',
  'payment_code',
  'bank_card_quick_pay',
  'withdrawal_to_own_card',
] as const;
export type PaymentMethod = (typeof PAYMENT_METHODS)[number];

export type LimitDenial =
  | 'class_lifetime_limit_exceeded'
  | 'class_envelope_limit_exceeded'
  | 'class_yearly_limit_exceeded'
  | 'daily_limit_exceeded'
  | 'method_daily_limit_exceeded'
  | 'device_daily_limit_exceeded';

export interface LimitPolicy {
  /** Class I: cumulative since opening. */
  classILifetime: bigint;
  /** Class I: red envelopes sent since opening, however they are paid for (DOMAIN.md). */
  classIEnvelopesLifetime: bigint;
  /** Classes II and III: per calendar year (business time zone). */
  classYearly: { 2: bigint; 3: bigint };
  /** Per business day by verification strength; null means no cap. */
  dailyByStrength: Record<VerificationStrength, bigint | null>;
  /** Per business day by method; null means no cap. */
  methodDaily: Partial<Record<PaymentMethod, bigint>>;
  /** Password-free (single-factor) payments allowed per business day. */
  singleFactorDailyCount: number;
}

/** Payments from a bank card, or to the user's own card, are outside the balance caps. */
export function countsTowardClassCap(method: PaymentMethod): boolean {
  return method !== 'bank_card_quick_pay' && method !== 'withdrawal_to_own_card';
}

export interface SpendRequest {
  accountClass: AccountClass;
  amount: bigint;
  method: PaymentMethod;
  strength: VerificationStrength;
  businessDate: string;
  /** The signing device, when a device key authorized the payment. */
  deviceId?: string;
  /** That device's own daily cap (wearables), if any. */
  deviceDailyLimit?: bigint | null;
  /** The payment funds a red envelope, whatever pays for it (balance or card). */
  envelope?: boolean;
}

/** A payment that sends a red envelope: by its method, or flagged when a card pays for it. */
export function fundsEnvelope(request: Pick<SpendRequest, 'method' | 'envelope'>): boolean {
  return request.method === 'red_envelope' || request.envelope === true;
}

export interface CounterCharge {
  counter: string;
  period: string;
  /** null: counted but not capped. */
  cap: bigint | null;
  /** Most payments this counter may count; null for no count cap. */
  maxPayments: number | null;
  denial: LimitDenial;
}

/**
 * The counters a payment charges, in a fixed order (counter, period) so that concurrent
 * reservations lock rows in the same order and cannot deadlock.
 */
export function chargesFor(policy: LimitPolicy, request: SpendRequest): CounterCharge[] {
  const year = request.businessDate.slice(0, 4);
  const charges: CounterCharge[] = [];
  if (countsTowardClassCap(request.method)) {
    charges.push({
      counter: 'balance_lifetime',
      period: 'all',
      cap: request.accountClass === 1 ? policy.classILifetime : null,
      maxPayments: null,
      denial: 'class_lifetime_limit_exceeded',
    });
    charges.push({
      counter: 'balance_yearly',
      period: year,
      cap: request.accountClass === 1 ? null : policy.classYearly[request.accountClass],
      maxPayments: null,
      denial: 'class_yearly_limit_exceeded',
    });
  }
  charges.push({
    counter: `strength:${request.strength}`,
    period: request.businessDate,
    cap: policy.dailyByStrength[request.strength],
    maxPayments: request.strength === 'single_factor' ? policy.singleFactorDailyCount : null,
    denial: 'daily_limit_exceeded',
  });
  charges.push({
    counter: `method:${request.method}`,
    period: request.businessDate,
    cap: policy.methodDaily[request.method] ?? null,
    maxPayments: null,
    denial: 'method_daily_limit_exceeded',
  });
  if (request.deviceId) {
    charges.push({
      counter: `device:${request.deviceId}`,
      period: request.businessDate,
      cap: request.deviceDailyLimit ?? null,
      maxPayments: null,
      denial: 'device_daily_limit_exceeded',
    });
  }
  if (fundsEnvelope(request)) {
    // Counted for every class (a class I account that is upgraded keeps its history), capped
    // for class I only, and charged however the envelope is paid: a card is no way around it.
    charges.push({
      counter: 'red_envelope_lifetime',
      period: 'all',
      cap: request.accountClass === 1 ? policy.classIEnvelopesLifetime : null,
      maxPayments: null,
      denial: 'class_envelope_limit_exceeded',
    });
  }
  return charges.sort((a, b) => compareCharge(a, b));
}

function compareCharge(a: CounterCharge, b: CounterCharge): number {
  const left = `${a.counter}\u0000${a.period}`;
  const right = `${b.counter}\u0000${b.period}`;
  return left < right ? -1 : left > right ? 1 : 0;
}

/** The first charge the payment would push over its cap (amount or count), given what is already used. */
export function firstExceeded(
  charges: readonly CounterCharge[],
  amount: bigint,
  used: (charge: CounterCharge) => bigint,
  payments: (charge: CounterCharge) => number = () => 0,
): CounterCharge | undefined {
  return charges.find(
    (charge) =>
      (charge.cap !== null && used(charge) + amount > charge.cap) ||
      (charge.maxPayments !== null && payments(charge) + 1 > charge.maxPayments),
  );
}

/** What is left under a cap (never negative); null when uncapped. */
export function remaining(cap: bigint | null, used: bigint): bigint | null {
  if (cap === null) return null;
  return cap > used ? cap - used : 0n;
}
