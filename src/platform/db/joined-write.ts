import type { StatementBuilder } from './statement.ts';

/**
 * One module's writes, joined to a statement another module runs (a ledger batch and its
 * commit participants). The owning module builds it from typed data with its own store, which
 * alone knows its tables; the statement's owner only renders it. No SQL text crosses a module
 * boundary: a caller composes JoinedWrite values, it never writes or edits their SQL.
 *
 * `render` returns `name AS (...)` CTEs whose writes all hold `applies` (a SQL boolean, true
 * exactly when the host statement applies), and `accepted`: a SQL boolean over those CTEs that
 * must be true for the statement to commit (false rolls the whole statement back).
 * Names and placeholders come from `sql`, so parts never collide.
 */
export interface JoinedWrite {
  render(sql: StatementBuilder, applies: string): RenderedWrite;
}

export interface RenderedWrite {
  ctes: string[];
  accepted: string;
}

/** Renders several writes into one part: their CTEs in order, all acceptances required. */
export function renderAll(
  writes: readonly JoinedWrite[],
  sql: StatementBuilder,
  applies: string,
): RenderedWrite {
  const ctes: string[] = [];
  const accepted: string[] = [];
  for (const write of writes) {
    const part = write.render(sql, applies);
    ctes.push(...part.ctes);
    if (part.accepted !== 'true') accepted.push(`(${part.accepted})`);
  }
  return { ctes, accepted: accepted.length === 0 ? 'true' : accepted.join(' AND ') };
}
