import assert from 'node:assert/strict';
import { chmodSync, mkdirSync, mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { explainStartupFailure, folderClosedToOthers, redactUrl, StartupError } from './startup.ts';

const failure = (code: string, extra: Record<string, unknown> = {}) =>
  Object.assign(new Error(`${code} happened`), { code, ...extra });

test('foreseeable start-up failures become one paragraph of advice; anything else is left alone', () => {
  const port = explainStartupFailure(failure('EADDRINUSE', { port: 8080 }), {});
  assert.ok(port instanceof StartupError);
  assert.match(port.message, /Port 8080 is already in use.*PORT=8081/);

  const disk = explainStartupFailure(failure('ENOSPC', { path: '/data/x' }), {});
  assert.match(disk!.message, /disk is full \(writing \/data\/x\).*TUYERE_DATA_DIR/);

  const url = 'postgres://app:s3cret@db.internal:5432/tuyere';
  for (const [code, reason] of [
    ['ECONNREFUSED', 'nothing is listening'],
    ['ENOTFOUND', 'does not resolve'],
    ['28P01', 'password was refused'],
    ['3D000', 'database does not exist'],
  ]) {
    const explained = explainStartupFailure(failure(code!), { databaseUrl: url });
    assert.match(explained!.message, new RegExp(reason!));
    assert.doesNotMatch(explained!.message, /s3cret/);
  }
  // Without DATABASE_URL a connection code is not ours to explain; a plain bug never is.
  assert.equal(explainStartupFailure(failure('ECONNREFUSED'), {}), undefined);
  assert.equal(explainStartupFailure(new TypeError('x is undefined'), { databaseUrl: url }), undefined);
  assert.equal(redactUrl(url), 'postgres://app:***@db.internal:5432/tuyere');
});

test('the first folder others cannot enter is found on the way to a path', () => {
  const root = mkdtempSync(path.join(tmpdir(), 'startup-'));
  chmodSync(root, 0o755);
  const closed = path.join(root, 'home');
  mkdirSync(path.join(closed, 'tuyere'), { recursive: true });
  chmodSync(closed, 0o700);
  assert.equal(folderClosedToOthers(path.join(closed, 'tuyere', '.tuyere')), closed);
  chmodSync(closed, 0o711);
  assert.equal(folderClosedToOthers(path.join(closed, 'tuyere', '.tuyere')), undefined);
});
