/**
 * The identity module's public API. Other modules import from here, never from identity's
 * files or tables.
 *
 * @example How the wallet authorizes a transfer and checks limits:
 *   const authorization = await identity.authorizePayment({
 *     userId: principal.id, amount, currency: 'CNY', payee: `user:${toUserId}`, proof,
 *   });
 *   const decision = await identity.checkAndReserve({
 *     reservationId: transferId, userId: principal.id, amount, method: 'balance_transfer', authorization,
 *   });
 *   if (!decision.allowed) throw forbidden(decision.reason, 'This transfer is over your limit.');
 *   try { await ledger.transfer(...) } catch (e) { await identity.releaseReservation(transferId); throw e; }
 */
export { type AuditChainReport, type AuditEntry, verifyAuditChain } from './audit.ts';
export { isValidChineseId, maskIdNumber } from './chinese-id.ts';
export { DEMO_PEOPLE } from './demo.ts';
export { Identity } from './identity.ts';
export {
  type AccountClass,
  type LimitDenial,
  PAYMENT_METHODS,
  type PaymentMethod,
  type VerificationStrength,
} from './limit-rules.ts';
export type {
  BatchLimitOutcome,
  HeldReservation,
  LimitCheck,
  LimitDecision,
  ReservationPlan,
} from './limits.ts';
export { identityModule } from './module.ts';
export {
  isStepUpAction,
  type PaymentAuthorization,
  type PaymentProof,
  type PaymentRequest,
  STEP_UP_ACTIONS,
  type StepUp,
  type StepUpAction,
} from './payment-authorization.ts';
export {
  PAYMENT_PROOF_SCHEMA,
  type PaymentProofBody,
  paymentProofFromBody,
  stepUpProofFromBody,
} from './proof-schema.ts';
export { STAFF_ROLES, type StaffRole } from './staff.ts';
export type { UserRecord } from './users.ts';
