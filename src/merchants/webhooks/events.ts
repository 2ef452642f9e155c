import { invalid } from '../../platform/errors.ts';
import { deterministicId } from '../../platform/ids.ts';

/**
 * The catalogue of webhook event types a merchant can subscribe to. Orders, refunds and
 * settlement emit them through `Webhooks.emit` inside their own transactions.
 */
export const WEBHOOK_EVENT_TYPES = [
  'order.paid',
  'order.closed',
  'refund.succeeded',
  'refund.failed',
  'settlement.paid',
] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];

export const WEBHOOK_EVENT_DESCRIPTIONS: Record<WebhookEventType, string> = {
  'order.paid': 'An order was paid (once per order).',
  'order.closed': 'An unpaid order was closed by the merchant or by its expiry.',
  'refund.succeeded': 'A refund reached the payer.',
  'refund.failed': 'A refund could not be made; the money stays with the merchant.',
  'settlement.paid': "A settlement payout reached the merchant's bank account.",
};

export function isWebhookEventType(type: string): type is WebhookEventType {
  return (WEBHOOK_EVENT_TYPES as readonly string[]).includes(type);
}

/** Throws webhook_event_type_invalid unless every type is in the catalogue (and there is one). */
export function validateEventTypes(types: readonly string[]): void {
  const unknown = types.filter((type) => !isWebhookEventType(type));
  if (types.length === 0 || unknown.length > 0)
    throw invalid(
      'webhook_event_type_invalid',
      `Event types must be some of: ${WEBHOOK_EVENT_TYPES.join(', ')}.`,
      { unknown },
    );
}

/**
 * The deterministic event id for one business fact, e.g. `webhookEventId('order.paid', orderId)`:
 * emitting the same fact twice (a retried transaction) records one event.
 */
export function webhookEventId(type: WebhookEventType, ...subject: string[]): string {
  return deterministicId(`merchants.webhook.${type}`, ...subject);
}
