import type { TuyereApp } from '../app.ts';
import type { VerifyCheck } from '../platform/module.ts';

export interface VerifyReport {
  ok: boolean;
  checks: VerifyCheck[];
  text: string;
}

/** Runs every module's verify checks and formats the report `tuyere verify` prints. */
export async function runVerify(app: TuyereApp): Promise<VerifyReport> {
  const checks = await app.verify();
  const ok = checks.every((check) => check.ok);
  const lines = checks.map((check) => {
    const head = `${check.ok ? 'PASS' : 'FAIL'}  ${check.name}`;
    const shown = check.violations.slice(0, 20).map((v) => `        ${v}`);
    if (check.violations.length > 20) shown.push(`        ... and ${check.violations.length - 20} more`);
    return [head, ...shown].join('\n');
  });
  lines.push(
    '',
    ok
      ? `All ${checks.length} checks passed.`
      : `${checks.filter((c) => !c.ok).length} of ${checks.length} checks FAILED.`,
  );
  return { ok, checks, text: lines.join('\n') };
}
