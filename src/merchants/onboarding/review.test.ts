import assert from 'node:assert/strict';
import { test } from 'node:test';
import { AppError } from '../../platform/errors.ts';
import {
  allowedActions,
  assertCanTakePayments,
  isEditable,
  REVIEW_ACTIONS,
  REVIEW_STATES,
  type ReviewAction,
  type ReviewState,
  transition,
} from './review.ts';

const code = (fn: () => unknown) => {
  try {
    fn();
  } catch (error) {
    return (error as AppError).code;
  }
  return 'no error';
};

test('application path: draft → submitted → needs_changes → submitted → approved', () => {
  let state: ReviewState = 'draft';
  state = transition(state, 'submit').state;
  assert.equal(state, 'submitted');
  const sentBack = transition(state, 'request_changes', ' add the bank branch ');
  assert.deepEqual(sentBack, { state: 'needs_changes', reason: 'add the bank branch' });
  state = transition(sentBack.state, 'submit').state;
  assert.equal(transition(state, 'approve').state, 'approved');
});

test('suspend and reinstate; closed is terminal; rejected can only close', () => {
  assert.equal(transition('approved', 'suspend', 'fraud check').state, 'suspended');
  assert.equal(transition('suspended', 'reinstate').state, 'approved');
  assert.equal(transition('submitted', 'reject', 'not a business').state, 'rejected');
  assert.deepEqual(allowedActions('rejected'), ['close']);
  assert.deepEqual(allowedActions('closed'), []);
  for (const state of REVIEW_STATES)
    if (state !== 'closed') assert.equal(transition(state, 'close').state, 'closed', state);
});

test('every refused transition names the allowed ones', () => {
  const expected: Record<ReviewState, ReviewAction[]> = {
    draft: ['submit', 'close'],
    submitted: ['approve', 'reject', 'request_changes', 'close'],
    needs_changes: ['submit', 'close'],
    approved: ['suspend', 'close'],
    suspended: ['reinstate', 'close'],
    rejected: ['close'],
    closed: [],
  };
  for (const state of REVIEW_STATES) {
    assert.deepEqual(allowedActions(state), expected[state], state);
    for (const action of REVIEW_ACTIONS) {
      if (expected[state].includes(action)) continue;
      try {
        transition(state, action, 'why');
        assert.fail(`${state} ${action} should be refused`);
      } catch (error) {
        assert.ok(error instanceof AppError);
        assert.equal(error.code, 'merchant_state_invalid');
        assert.deepEqual(error.details?.allowed_actions, expected[state]);
      }
    }
  }
});

test('reject, request changes and suspend need a reason', () => {
  assert.equal(
    code(() => transition('submitted', 'reject', '  ')),
    'reason_required',
  );
  assert.equal(
    code(() => transition('submitted', 'request_changes')),
    'reason_required',
  );
  assert.equal(
    code(() => transition('approved', 'suspend', '')),
    'reason_required',
  );
  assert.equal(transition('submitted', 'approve').reason, null);
});

test('only draft and needs_changes are editable; only approved takes payments', () => {
  assert.deepEqual(
    REVIEW_STATES.filter((state) => isEditable(state)),
    ['draft', 'needs_changes'],
  );
  for (const state of REVIEW_STATES) {
    const check = () => assertCanTakePayments({ id: 'm', review_state: state });
    if (state === 'approved') check();
    else assert.equal(code(check), 'merchant_not_approved', state);
  }
  assert.equal(
    code(() => assertCanTakePayments({ id: 'm', review_state: null })),
    'merchant_not_approved',
  );
});
