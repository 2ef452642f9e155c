import type { TuyereApp } from '../app.ts';
import type { VerifyCheck } from '../platform/module.ts';

export interface VerifyReport {
  ok: boolean;
  full: boolean;
  checks: VerifyCheck[];
  text: string;
}

/** Where progress goes: a terminal gets a live line per check, anything else nothing. */
export interface ProgressSink {
  isTTY?: boolean;
  write(text: string): unknown;
}

/**
 * Runs every module's verify checks and formats the report `tuyere verify` prints. Checks
 * start from their checkpoints unless `full`, and passing ones record new checkpoints. On a
 * terminal (`progress.isTTY`), each check shows a live line with its counts while it runs and
 * its result when done; otherwise only the summary is printed.
 */
export async function runVerify(
  app: TuyereApp,
  options: { full?: boolean; progress?: ProgressSink } = {},
): Promise<VerifyReport> {
  const full = options.full ?? false;
  const sink = options.progress?.isTTY ? options.progress : undefined;
  const started = Date.now();
  const checks = await app.verify({
    full,
    record: true,
    ...(sink
      ? {
          progress: ({ check, done, total, unit }) => {
            const count = total !== null ? `${fmt(done)} / ${fmt(total)}` : fmt(done);
            sink.write(`\r\x1b[K  ....  ${check}  ${count} ${unit}`);
          },
          onCheck: (found: VerifyCheck[]) => {
            for (const check of found) sink.write(`\r\x1b[K${headLine(check)}\n`);
          },
        }
      : {}),
  });
  const ok = checks.every((check) => check.ok);
  const lines = checks.map((check) => {
    const shown = check.violations.slice(0, 20).map((v) => `        ${v}`);
    if (check.violations.length > 20) shown.push(`        ... and ${check.violations.length - 20} more`);
    return [headLine(check), ...shown].join('\n');
  });
  const seconds = ((Date.now() - started) / 1000).toFixed(1);
  lines.push(
    '',
    `${full ? 'Full' : 'Incremental'} run in ${seconds} s: ` +
      (ok
        ? `all ${checks.length} checks passed.`
        : `${checks.filter((c) => !c.ok).length} of ${checks.length} checks FAILED.`),
  );
  return { ok, full, checks, text: lines.join('\n') };
}

function headLine(check: VerifyCheck): string {
  return `${check.ok ? 'PASS' : 'FAIL'}  ${check.name}${check.examined ? `  (${check.examined})` : ''}`;
}

const fmt = (n: number) => n.toLocaleString('en-US');
