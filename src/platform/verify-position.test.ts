import assert from 'node:assert/strict';
import { test } from 'node:test';
import { VERIFY_SETTLE_MS, VerifyCut } from './verify-position.ts';

test('a checkpoint advances only over rows stamped before the settle margin', () => {
  const now = new Date('2026-11-29T12:00:00Z');
  const cut = new VerifyCut(now);
  const at = (msBefore: number) => new Date(now.getTime() - msBefore);
  cut.see({ at: at(VERIFY_SETTLE_MS + 2), id: 'a' });
  cut.see({ at: at(VERIFY_SETTLE_MS), id: 'b' });
  assert.deepEqual(cut.reached, { at: at(VERIFY_SETTLE_MS), id: 'b' });
  // Stamped within the margin: its transaction may not have committed rows stamped before it.
  cut.see({ at: at(VERIFY_SETTLE_MS - 1), id: 'c' });
  assert.equal(cut.reached?.id, 'b');
  assert.equal(new VerifyCut(now).reached, undefined);
});
