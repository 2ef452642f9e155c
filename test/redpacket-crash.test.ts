import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { createTestApp } from '../src/platform/testing/app.ts';
import { grabTransferId } from '../src/redpacket/index.ts';
import { assertBooks, fundWallets, ids } from './redpacket-fixtures.ts';
import { newUser, PIN } from './wallet-fixtures.ts';

/**
 * Kill the process during a storm and restart: every acknowledged grab is present (claimed
 * and booked in the ledger), and the books verify. The worker is SIGKILLed at random moments.
 */
test('SIGKILL during a storm loses no acknowledged grab and leaves the books whole', async () => {
  const app = await createTestApp({ config: { groupMembersMax: 5000 } });
  try {
    const sender = await newUser(app);
    await fundWallets(app, [sender.id], 10_000_000n);
    const grabbers = ids(400);
    const group = await app.social.create(sender.id, 'crash storm', grabbers, { members: 'synthetic' });
    const envelopes: string[] = [];
    for (let i = 0; i < 40; i++) {
      const envelope = await app.redpacket.send({
        envelopeId: randomUUID(),
        senderId: sender.id,
        groupId: group.id,
        kind: 'lucky',
        // A class I sender may send 1,000 CNY in all: 40 × 20 CNY stays under it.
        total: 2000n,
        shares: 50,
        greeting: 'crash',
        proof: { type: 'pin', pin: PIN },
      });
      envelopes.push(envelope.id);
    }
    // Each envelope is wanted by 60 of the grabbers: 50 win, 10 find it all taken.
    const pairs: Array<[string, string]> = [];
    envelopes.forEach((envelope, e) => {
      for (let k = 0; k < 60; k++) pairs.push([envelope, grabbers[(e * 60 + k) % grabbers.length]!]);
    });
    const directory = mkdtempSync(path.join(tmpdir(), 'tuyere-crash-'));
    const acknowledged = new Map<string, bigint>();
    const kills = 4;
    for (let run = 0; run <= kills; run++) {
      const planFile = path.join(directory, `plan-${run}.json`);
      writeFileSync(planFile, JSON.stringify({ pairs: run % 2 === 0 ? pairs : [...pairs].reverse() }));
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', new URL('./fixtures/grab-worker.ts', import.meta.url).pathname],
        {
          env: { ...process.env, GRAB_DB_URL: app.db.url, GRAB_PLAN: planFile, GRAB_DATA_DIR: directory },
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      let buffer = '';
      let acks = 0;
      const finished = new Promise<void>((resolve) => child.on('exit', () => resolve()));
      const killAfter = run < kills ? 5 + Math.floor(Math.random() * 400) : Number.POSITIVE_INFINITY;
      child.stdout.on('data', (chunk) => {
        buffer += String(chunk);
        const lines = buffer.split('\n');
        buffer = lines.pop()!;
        for (const line of lines) {
          const [tag, envelope, user, amount] = line.split(' ');
          if (tag !== 'ACK') continue;
          acknowledged.set(`${envelope}/${user}`, BigInt(amount!));
          if (++acks >= killAfter) child.kill('SIGKILL');
        }
      });
      await finished;
      console.log(
        `run ${run + 1}: ${acks} acknowledgements${run < kills ? ', then SIGKILL' : ', ran to the end'}`,
      );
    }
    assert.ok(acknowledged.size > 0);

    // No repair step: a grab commits with its payout, or neither exists.
    const { rows } = await app.db.query<{
      envelope_id: string;
      user_id: string;
      amount: bigint;
      created_at: Date;
    }>(
      'SELECT g.envelope_id, g.user_id, g.amount, e.created_at FROM redpacket_grabs g JOIN redpacket_envelopes e ON e.id = g.envelope_id',
    );
    const payoutId = (row: (typeof rows)[number]) =>
      grabTransferId({ id: row.envelope_id, createdAt: row.created_at }, row.user_id);
    const stored = new Map(rows.map((row) => [`${row.envelope_id}/${row.user_id}`, row]));
    for (const [key, amount] of acknowledged) {
      assert.equal(stored.get(key)?.amount, amount, `acknowledged grab ${key} is stored with its amount`);
    }
    const transfers = new Map(
      (await app.ledger.lookupTransfers(rows.map(payoutId))).map((transfer) => [transfer.id, transfer]),
    );
    for (const row of rows) {
      const payout = transfers.get(payoutId(row));
      assert.equal(payout?.amount, row.amount, 'every stored grab is paid in the ledger, with its amount');
    }
    assert.equal(transfers.size, rows.length);
    assert.equal(rows.length, 40 * 50, 'the last run finished every envelope');
    await assertBooks(app);
  } finally {
    await app.close();
  }
});
