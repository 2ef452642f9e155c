import assert from 'node:assert/strict';
import { test } from 'node:test';
import { FlowCompensationError, runFlow } from './flow.ts';

test('a flow runs its steps in order and merges what they return into the state', async () => {
  const seen: string[] = [];
  const state = await runFlow('ok', { n: 1 } as { n: number; doubled?: number }, [
    { name: 'a', run: async (s) => void seen.push(`a${s.n}`) },
    { name: 'b', run: async (s) => ({ doubled: s.n * 2 }) },
    { name: 'c', run: async (s) => void seen.push(`c${s.doubled}`) },
  ]);
  assert.deepEqual(seen, ['a1', 'c2']);
  assert.equal(state.doubled, 2);
});

test('a failing step undoes the completed steps in reverse order, then rethrows', async () => {
  const undone: string[] = [];
  const failure = new Error('bank declined');
  await assert.rejects(
    runFlow('fails', {}, [
      { name: 'a', run: async () => {}, compensate: async () => void undone.push('a') },
      { name: 'b', run: async () => {} },
      {
        name: 'c',
        run: async () => {},
        compensate: async (_s, cause) => void undone.push(`c:${(cause as Error).message}`),
      },
      { name: 'd', run: async () => Promise.reject(failure), compensate: async () => void undone.push('d') },
    ]),
    (error) => error === failure,
  );
  assert.deepEqual(undone, ['c:bank declined', 'a']);
});

test('a compensation that fails is reported with the original error', async () => {
  const failure = new Error('ledger overloaded');
  await assert.rejects(
    runFlow('stuck', {}, [
      {
        name: 'hold',
        run: async () => {},
        compensate: async () => Promise.reject(new Error('database down')),
      },
      { name: 'call bank', run: async () => Promise.reject(failure) },
    ]),
    (error) =>
      error instanceof FlowCompensationError &&
      error.step === 'hold' &&
      error.cause === failure &&
      (error.compensationError as Error).message === 'database down',
  );
});
