import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { test } from 'node:test';
import { ManualClock } from '../clock.ts';
import { createLogger } from '../log.ts';
import { createTestDatabase } from '../testing/database.ts';
import { JobQueue } from './queue.ts';

const silent = createLogger({ level: 'silent' });

async function setup() {
  const database = await createTestDatabase();
  await database.db.query('CREATE TABLE job_effects (id serial PRIMARY KEY, job_id uuid NOT NULL)');
  const clock = new ManualClock('2026-02-16T08:00:00Z');
  const queue = new JobQueue({ db: database.db, clock, log: silent, timeZone: 'Asia/Shanghai' });
  const effects = async () =>
    Number((await database.db.query('SELECT count(*)::int AS n FROM job_effects')).rows[0]!.n);
  const job = async (id: string) =>
    (await database.db.query('SELECT * FROM platform_jobs WHERE id = $1', [id])).rows[0]!;
  return { database, clock, queue, effects, job };
}

test('a transactional job that fails rolls back its work, backs off, and succeeds later exactly once', async () => {
  const { database, clock, queue, effects, job } = await setup();
  try {
    let calls = 0;
    queue.register('test.flaky', async (j, { tx }) => {
      calls++;
      await tx!.query('INSERT INTO job_effects (job_id) VALUES ($1)', [j.id]);
      if (calls < 3) throw new Error(`flake ${calls}`);
    });
    const id = (await queue.enqueue('test.flaky'))!;
    assert.equal(await queue.drain(), 1);
    assert.equal(await effects(), 0, 'failed attempt left nothing');
    const failed = await job(id);
    assert.equal(failed.state, 'queued');
    assert.equal(failed.last_error, 'flake 1');
    assert.equal(await queue.drain(), 0, 'backing off: not ready yet');
    clock.advance(2_001);
    await queue.drain();
    clock.advance(4_001);
    await queue.drain();
    assert.equal(calls, 3);
    assert.equal(await effects(), 1);
    assert.equal((await job(id)).state, 'done');
  } finally {
    await database.drop();
  }
});

test('a job that keeps failing goes dead after max attempts', async () => {
  const { database, clock, queue, job } = await setup();
  try {
    queue.register(
      'test.broken',
      async () => {
        throw new Error('always');
      },
      { maxAttempts: 3 },
    );
    const id = (await queue.enqueue('test.broken'))!;
    for (let i = 0; i < 5; i++) {
      await queue.drain();
      clock.advance(600_001);
    }
    const dead = await job(id);
    assert.equal(dead.state, 'dead');
    assert.equal(dead.attempts, 3);
  } finally {
    await database.drop();
  }
});

test('a crash mid-job repeats nothing and loses nothing (SIGKILL, 3 times)', async () => {
  const { database, clock, queue, effects, job } = await setup();
  try {
    queue.register('test.effect', async (j, { tx }) => {
      await tx!.query('INSERT INTO job_effects (job_id) VALUES ($1)', [j.id]);
    });
    const id = (await queue.enqueue('test.effect', {}, { runAt: new Date(0) }))!;
    for (let crash = 0; crash < 3; crash++) {
      // Expire any lease left by the previous crash so the child can claim the job.
      await database.db.query(
        "UPDATE platform_jobs SET lease_until = '2000-01-01' WHERE id = $1 AND state = 'running'",
        [id],
      );
      const child = spawn(
        process.execPath,
        ['--import', 'tsx', new URL('./crash-worker.fixture.ts', import.meta.url).pathname],
        {
          env: { ...process.env, CRASH_DB_URL: database.url },
          stdio: ['ignore', 'pipe', 'inherit'],
        },
      );
      await new Promise<void>((resolve, reject) => {
        child.stdout.on('data', (chunk) => {
          if (String(chunk).includes('MID_JOB')) resolve();
        });
        child.on('exit', () => reject(new Error('worker exited before reaching the middle of the job')));
      });
      child.kill('SIGKILL');
      await new Promise((resolve) => child.on('exit', resolve));
      assert.equal(await effects(), 0, `crash ${crash + 1}: the half-done work must roll back`);
      assert.equal((await job(id)).state, 'running', 'still leased to the dead worker');
    }
    assert.equal(await queue.drain(), 0, 'lease not yet expired');
    clock.set(new Date(Date.now() + 120_000));
    assert.equal(await queue.drain(), 1);
    assert.equal(await effects(), 1, 'done exactly once');
    const done = await job(id);
    assert.equal(done.state, 'done');
    assert.equal(done.attempts, 4);
  } finally {
    await database.drop();
  }
});

test('scheduled jobs are enqueued once per occurrence even from several processes', async () => {
  const { database, clock, effects } = await setup();
  try {
    const queues = Array.from(
      { length: 3 },
      () => new JobQueue({ db: database.db, clock, log: silent, timeZone: 'Asia/Shanghai' }),
    );
    for (const q of queues) {
      q.register('test.nightly', async (j, { tx }) => {
        await tx!.query('INSERT INTO job_effects (job_id) VALUES ($1)', [j.id]);
      });
      q.schedule({ name: 'nightly', cron: '0 0 * * *', kind: 'test.nightly' });
    }
    await Promise.all(queues.map((q) => q.enqueueSchedules()));
    await Promise.all(queues.map((q) => q.enqueueSchedules()));
    const { rows } = await database.db.query('SELECT unique_key, run_at FROM platform_jobs');
    assert.equal(rows.length, 1);
    // Midnight in Shanghai is 16:00 UTC.
    assert.equal((rows[0]!.run_at as Date).toISOString(), '2026-02-16T16:00:00.000Z');
    clock.set('2026-02-16T16:00:01Z');
    await Promise.all(queues.map((q) => q.drain()));
    assert.equal(await effects(), 1);
    await Promise.all(queues.map((q) => q.enqueueSchedules()));
    assert.equal(
      Number((await database.db.query('SELECT count(*)::int AS n FROM platform_jobs')).rows[0]!.n),
      2,
      'next night enqueued',
    );
  } finally {
    await database.drop();
  }
});

test('stop waits for running jobs to drain', async () => {
  const { database, queue, effects } = await setup();
  try {
    queue.register('test.slow', async (j, { tx }) => {
      await new Promise((resolve) => setTimeout(resolve, 200));
      await tx!.query('INSERT INTO job_effects (job_id) VALUES ($1)', [j.id]);
    });
    await queue.enqueue('test.slow', {}, { runAt: new Date(0) });
    queue.start();
    while (
      Number(
        (await database.db.query("SELECT count(*)::int AS n FROM platform_jobs WHERE state = 'running'"))
          .rows[0]!.n,
      ) === 0
    ) {
      await new Promise((resolve) => setTimeout(resolve, 10));
    }
    await queue.stop(5_000);
    assert.equal(await effects(), 1);
  } finally {
    await database.drop();
  }
});
