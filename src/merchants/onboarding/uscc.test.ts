import assert from 'node:assert/strict';
import { test } from 'node:test';
import { USCC_ALPHABET, usccCheckCharacter, usccProblem } from './uscc.ts';

/** A code in the real layout: registration department (e.g. 9 市场监管), type, a 6-digit
 * area code, a 9-character organisation code, then the check character. */
const withCheck = (first17: string) => first17 + usccCheckCharacter(first17);

test('the check character follows GB 32100-2015 (weights 3^i mod 31, modulo 31)', () => {
  // A code widely published as an example of the format.
  assert.equal(usccCheckCharacter('91350100M000100Y4'), '3');
  assert.equal(usccProblem('91350100M000100Y43'), undefined);
  // All-zero first 17: Σ = 0 → (31 - 0) mod 31 = 0.
  assert.equal(usccCheckCharacter('0'.repeat(17)), '0');
  // One 1 in the last position (weight 28): 31 - 28 = 3.
  assert.equal(usccCheckCharacter(`${'0'.repeat(16)}1`), '3');
  // One 1 in the first position (weight 1): 31 - 1 = 30 → 'Y', the alphabet's last character.
  assert.equal(usccCheckCharacter(`1${'0'.repeat(16)}`), 'Y');
  assert.equal(USCC_ALPHABET.length, 31);
});

test('constructed real-format codes are valid', () => {
  for (const first17 of [
    '91110108MA01ABCD1',
    '92440300L12345678',
    '91310000X07654321',
    '52100000500012345',
  ]) {
    const code = withCheck(first17);
    assert.equal(code.length, 18);
    assert.equal(usccProblem(code), undefined, code);
  }
});

test('wrong length, letters outside the alphabet and a wrong check character are refused', () => {
  const good = withCheck('91110108MA01ABCD1');
  assert.equal(usccProblem(good.slice(0, 17)), 'length');
  assert.equal(usccProblem(`${good}0`), 'length');
  assert.equal(usccProblem(''), 'length');
  for (const letter of ['I', 'O', 'S', 'V', 'Z', 'a', '-'])
    assert.equal(usccProblem(`${letter}${good.slice(1)}`), 'alphabet', letter);
  const wrongCheck = good.slice(0, 17) + (good[17] === '0' ? '1' : '0');
  assert.equal(usccProblem(wrongCheck), 'check_character');
  // One changed character in the body is caught by the check character.
  const typo = `${good.slice(0, 5)}${good[5] === '1' ? '2' : '1'}${good.slice(6)}`;
  assert.equal(usccProblem(typo), 'check_character');
});
