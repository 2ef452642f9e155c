import assert from 'node:assert/strict';
import { test } from 'node:test';
import { createLogger } from '../platform/log.ts';
import { startSandboxBank } from './sandbox/server.ts';

async function requestLines(level: string): Promise<string[]> {
  const lines: string[] = [];
  const bank = await startSandboxBank({
    log: createLogger({ level, destination: { write: (line) => void lines.push(line) } }),
  });
  try {
    await (await fetch(`${bank.url}/sandbox/sms?phone=13800138000`)).text();
  } finally {
    await bank.stop();
  }
  return lines.filter((line) => /incoming request|request completed/.test(line));
}

test("the sandbox bank's per-request lines stay quiet at the default level and show at debug", async () => {
  assert.deepEqual(await requestLines('info'), []);
  const debug = await requestLines('debug');
  assert.ok(debug.length >= 2, 'incoming and completed at debug');
  assert.ok(
    debug.every((line) => !line.includes('13800138000')),
    'phone numbers masked in the URL',
  );
});
