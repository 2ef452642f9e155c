import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { createTestApp, type TestApp } from '../platform/testing/app.ts';
import { runVerify } from './verify.ts';

/** `tuyere verify`'s report and progress, without a subprocess (test/cli.test.ts runs the binary). */
let app: TestApp;
before(async () => {
  app = await createTestApp();
  await app.wallet.accounts.system(); // something in the journal
});
after(() => app.close());

const sink = (isTTY: boolean) => {
  const written: string[] = [];
  return { isTTY, write: (text: string) => written.push(text), written };
};

test('on a terminal, each check gets a progress line with its counts and its result as it finishes', async () => {
  const terminal = sink(true);
  const report = await runVerify(app, { full: true, progress: terminal });
  assert.equal(report.ok, true, report.text);
  const shown = terminal.written.join('');
  assert.ok(shown.includes('\r\x1b[K  ....  ledger: journal_chain  '), 'a live line, redrawn in place');
  assert.match(shown, / {2}ledger: journal_chain {2}\d+ \/ \d+ journal batches/);
  for (const check of report.checks) assert.ok(shown.includes(`PASS  ${check.name}`), check.name);
  assert.match(report.text, /^Full run in [\d.]+ s: all \d+ checks passed\.$/m);
});

test('elsewhere, nothing but the summary; a second run starts from the checkpoints', async () => {
  const pipe = sink(false);
  await runVerify(app, { progress: pipe });
  const report = await runVerify(app, { progress: pipe });
  assert.deepEqual(pipe.written, []);
  assert.equal(report.full, false);
  assert.match(report.text, /PASS {2}ledger: account_balance {2}\(\d+ accounts since journal batch \d+/);
  assert.match(report.text, /^Incremental run in/m);
});
