/**
 * Merchant review states as a pure state machine. An application is edited while draft or
 * needs_changes, submitted, then approved, rejected or sent back for changes; an approved
 * merchant may be suspended and reinstated; closed is terminal. Only approved merchants take
 * payments (`assertCanTakePayments`).
 */
import { conflict, forbidden, invalid } from '../../platform/errors.ts';

export const REVIEW_STATES = [
  'draft',
  'submitted',
  'approved',
  'rejected',
  'needs_changes',
  'suspended',
  'closed',
] as const;
export type ReviewState = (typeof REVIEW_STATES)[number];

export const REVIEW_ACTIONS = [
  'submit',
  'approve',
  'reject',
  'request_changes',
  'suspend',
  'reinstate',
  'close',
] as const;
export type ReviewAction = (typeof REVIEW_ACTIONS)[number];

/** Operator actions (submit is the applicant's). */
export const OPERATOR_REVIEW_ACTIONS = [
  'approve',
  'reject',
  'request_changes',
  'suspend',
  'reinstate',
  'close',
] as const satisfies readonly ReviewAction[];

const TRANSITIONS: Record<ReviewState, Partial<Record<ReviewAction, ReviewState>>> = {
  draft: { submit: 'submitted', close: 'closed' },
  submitted: { approve: 'approved', reject: 'rejected', request_changes: 'needs_changes', close: 'closed' },
  needs_changes: { submit: 'submitted', close: 'closed' },
  approved: { suspend: 'suspended', close: 'closed' },
  suspended: { reinstate: 'approved', close: 'closed' },
  rejected: { close: 'closed' },
  closed: {},
};

/** Actions that must say why (the applicant sees the reason). */
const NEEDS_REASON: ReadonlySet<ReviewAction> = new Set(['reject', 'request_changes', 'suspend']);

export function allowedActions(state: ReviewState): ReviewAction[] {
  return REVIEW_ACTIONS.filter((action) => TRANSITIONS[state][action] !== undefined);
}

/** The applicant may change the profile only before review or when asked to. */
export function isEditable(state: ReviewState): boolean {
  return state === 'draft' || state === 'needs_changes';
}

/** The next state and the reason kept with it; throws merchant_state_invalid or reason_required. */
export function transition(
  state: ReviewState,
  action: ReviewAction,
  reason?: string,
): { state: ReviewState; reason: string | null } {
  const next = TRANSITIONS[state][action];
  if (!next)
    throw conflict(
      'merchant_state_invalid',
      `A merchant in state ${state} cannot ${action.replace('_', ' ')}.`,
      {
        state,
        action,
        allowed_actions: allowedActions(state),
      },
    );
  const trimmed = reason?.trim() ?? '';
  if (NEEDS_REASON.has(action) && trimmed === '')
    throw invalid('reason_required', `Say why (reason) to ${action.replace('_', ' ')} a merchant.`);
  return { state: next, reason: trimmed === '' ? null : trimmed };
}

/**
 * For the checkout to come: throws merchant_not_approved unless the merchant is approved. A
 * merchant created without onboarding (review state null) takes no payments either.
 */
export function assertCanTakePayments(merchant: { id: string; review_state: ReviewState | null }): void {
  if (merchant.review_state !== 'approved')
    throw forbidden('merchant_not_approved', 'This merchant is not approved to take payments.', {
      merchant_id: merchant.id,
      review_state: merchant.review_state,
    });
}
