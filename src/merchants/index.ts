/**
 * The merchants module's public API. Other modules import from here, never from merchants'
 * files or tables.
 *
 * @example An operator creates a merchant and gives it a key (the full key is shown once):
 *   const merchant = await merchants.createMerchant('Corner Shop', principal.key);
 *   const { key } = await merchants.createApiKey(merchant.id, { name: 'till', scopes: ['payments:write'] }, { actor: principal.key, scopes: principal.scopes ?? [] });
 *   // The merchant then calls with `Authorization: Bearer ${key}` (tym_...).
 *
 * @example Order code records a webhook event in the transaction that marks the order paid:
 *   await merchants.webhooks.emit(merchantId, 'order.paid', { order_id: orderId, amount },
 *     { eventId: webhookEventId('order.paid', orderId), tx });
 */
export { MERCHANT_SCOPES, type MerchantScope } from './api-keys.ts';
export { MERCHANTS_CHART, MerchantAccounts, MerchantTransfers } from './chart.ts';
export { DEMO_MERCHANT_ID, DEMO_MERCHANT_PROFILE } from './demo.ts';
export { Merchants, type MerchantsDeps } from './merchants.ts';
export { merchantsModule } from './module.ts';
export { applicationView, Onboarding } from './onboarding/onboarding.ts';
export { MERCHANT_SCENARIOS, type MerchantScenario, type ProfileInput } from './onboarding/profile.ts';
export {
  allowedActions,
  assertCanTakePayments,
  REVIEW_ACTIONS,
  REVIEW_STATES,
  type ReviewAction,
  type ReviewState,
} from './onboarding/review.ts';
export { usccCheckCharacter, usccProblem } from './onboarding/uscc.ts';
export type {
  ApiKeyRecord,
  MerchantRecord,
  ProfileRecord,
  WebhookAttemptRecord,
  WebhookDeliveryRecord,
  WebhookEndpointRecord,
} from './store.ts';
export {
  isWebhookEventType,
  WEBHOOK_EVENT_TYPES,
  type WebhookEventType,
  webhookEventId,
} from './webhooks/events.ts';
export { Webhooks } from './webhooks/webhooks.ts';
