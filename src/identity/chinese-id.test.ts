import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import {
  idCheckCharacter,
  isValidChineseId,
  makeChineseId,
  maskIdNumber,
  normalizeIdNumber,
} from './chinese-id.ts';

test('a published sample ID number validates and a changed digit does not', () => {
  // GB 11643 worked example.
  assert.equal(idCheckCharacter('11010519491231002'), 'X');
  assert.ok(isValidChineseId('11010519491231002X'));
  assert.ok(!isValidChineseId('11010519491231003X'));
  assert.ok(!isValidChineseId('11010519491231002'));
  assert.ok(!isValidChineseId('11010519491331002X'), 'month 13 is not a date');
  assert.ok(
    !isValidChineseId('11010519490230002X'.slice(0, 17) + idCheckCharacter('11010519490230002')),
    'Feb 30',
  );
});

test('normalization accepts spaces and a lower-case x', () => {
  assert.equal(normalizeIdNumber('110105 19491231 002x'), '11010519491231002X');
});

test('property: any single-digit change of a valid ID breaks the checksum', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 0, max: 999 }),
      fc.integer({ min: 0, max: 16 }),
      fc.integer({ min: 1, max: 9 }),
      (sequence, position, delta) => {
        const id = makeChineseId('110101', '19900307', String(sequence).padStart(3, '0'));
        assert.ok(isValidChineseId(id));
        const digit = (Number(id[position]) + delta) % 10;
        const changed = id.slice(0, position) + digit + id.slice(position + 1);
        // A changed date digit may also make the date invalid; either way it must not validate.
        assert.ok(!isValidChineseId(changed));
      },
    ),
  );
});

test('masking shows only the first and last four characters', () => {
  assert.equal(maskIdNumber('110101199003071234'), '1101**********1234');
  fc.assert(
    fc.property(fc.stringMatching(/^\d{17}[\dX]$/), (id) => {
      const masked = maskIdNumber(id);
      assert.equal(masked.length, 18);
      assert.equal(masked.slice(4, 14), '*'.repeat(10));
    }),
  );
});
