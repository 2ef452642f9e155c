import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createTestDatabase } from '../testing/database.ts';

test('int8 comes back as bigint and numeric as an exact string', async () => {
  const { db, drop } = await createTestDatabase({ sources: [] });
  try {
    const { rows } = await db.query(
      "SELECT 9007199254740993::int8 AS big, '0.1'::numeric + '0.2'::numeric AS exact, ARRAY[1,2]::int8[] AS list",
    );
    assert.equal(rows[0]!.big, 9007199254740993n);
    assert.equal(rows[0]!.exact, '0.3');
    assert.deepEqual(rows[0]!.list, [1n, 2n]);
  } finally {
    await drop();
  }
});

test('transactions retry serialization failures and deadlocks, and give up after the bound', async () => {
  const { db, drop } = await createTestDatabase({ sources: [] });
  try {
    await db.query('CREATE TABLE counter (n int)');
    await db.query('INSERT INTO counter VALUES (0)');
    let attempts = 0;
    const result = await db.transaction(async (tx) => {
      attempts++;
      await tx.query('UPDATE counter SET n = n + 1');
      if (attempts < 3)
        throw Object.assign(new Error('could not serialize'), { code: attempts === 1 ? '40001' : '40P01' });
      return 'done';
    });
    assert.equal(result, 'done');
    assert.equal(attempts, 3);
    const { rows } = await db.query('SELECT n FROM counter');
    assert.equal(rows[0]!.n, 1, 'rolled-back attempts leave no trace');

    let bounded = 0;
    await assert.rejects(
      db.transaction(
        async () => {
          bounded++;
          throw Object.assign(new Error('always'), { code: '40001' });
        },
        { maxAttempts: 4 },
      ),
      /always/,
    );
    assert.equal(bounded, 4);

    let other = 0;
    await assert.rejects(
      db.transaction(async () => {
        other++;
        throw new Error('not retryable');
      }),
    );
    assert.equal(other, 1);
  } finally {
    await drop();
  }
});

test('real concurrent serialization conflicts are retried to completion', async () => {
  const { db, drop } = await createTestDatabase({ sources: [] });
  try {
    await db.query('CREATE TABLE counter (n int)');
    await db.query('INSERT INTO counter VALUES (0)');
    await Promise.all(
      Array.from({ length: 10 }, () =>
        db.transaction(
          async (tx) => {
            const { rows } = await tx.query<{ n: number }>('SELECT n FROM counter');
            await tx.query('UPDATE counter SET n = $1', [rows[0]!.n + 1]);
          },
          { isolation: 'serializable', maxAttempts: 50 },
        ),
      ),
    );
    const { rows } = await db.query('SELECT n FROM counter');
    assert.equal(rows[0]!.n, 10);
  } finally {
    await drop();
  }
});
