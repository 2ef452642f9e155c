import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createTestDatabase, type TestDatabase } from '../testing/database.ts';
import { binaryArray } from './binary-array.ts';

/** Each encoding is read back by PostgreSQL itself, so a wrong byte cannot pass. */

let database: TestDatabase;
before(async () => {
  database = await createTestDatabase();
});
after(async () => {
  await database.drop();
});

async function roundTrip(cast: string, encoded: Buffer): Promise<string> {
  const { rows } = await database.db.query<{ text: string }>(`SELECT $1::${cast}::text AS text`, [encoded]);
  return rows[0]!.text;
}

test('uuids, with NULLs and mixed case, read back as the same uuids', async () => {
  const ids = ['018f4e2a-0000-7000-8000-00000000000a', null, 'FFFFFFFF-ffff-4fff-BFFF-ffffffffffff'];
  assert.equal(
    await roundTrip('uuid[]', binaryArray('uuid', ids)),
    '{018f4e2a-0000-7000-8000-00000000000a,NULL,ffffffff-ffff-4fff-bfff-ffffffffffff}',
  );
});

test('int8 keeps the whole signed 64-bit range; int4 and bool read back exactly', async () => {
  const big = [9_223_372_036_854_775_807n, -9_223_372_036_854_775_808n, 0n, 1n, 42];
  assert.equal(
    await roundTrip('int8[]', binaryArray('int8', big)),
    '{9223372036854775807,-9223372036854775808,0,1,42}',
  );
  assert.equal(await roundTrip('int[]', binaryArray('int4', [2_147_483_647, -1, 0])), '{2147483647,-1,0}');
  assert.equal(await roundTrip('bool[]', binaryArray('bool', [true, false, null])), '{t,f,NULL}');
});

test('text elements keep quotes, commas, braces and non-ASCII', async () => {
  const texts = ['pending', 'a,b', '{"x": "红包"}', null, ''];
  const { rows } = await database.db.query<{ values: Array<string | null> }>('SELECT $1::text[] AS values', [
    binaryArray('text', texts),
  ]);
  assert.deepEqual(rows[0]!.values, texts);
});

test('an empty array is an empty array', async () => {
  assert.equal(await roundTrip('uuid[]', binaryArray('uuid', [])), '{}');
});

test('a malformed uuid is refused before it reaches the database', () => {
  assert.throws(() => binaryArray('uuid', ['not-a-uuid']), /not a uuid/);
  assert.throws(() => binaryArray('uuid', ['018f4e2a-0000-7000-8000-00000000000g']), /not a uuid/);
});
