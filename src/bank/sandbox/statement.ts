import { STATEMENT_HEADER } from '../types.ts';
import type { Operation } from './bank.ts';

/**
 * The daily statement as CSV (see README "Statement format"): a header line, then one line
 * per operation that reached a final status on the business date, LF line ends, no quoting
 * (no field can hold a comma). The `statement` fault knob makes it disagree on purpose.
 */
export function renderStatement(date: string, operations: readonly Operation[]): string {
  const lines = [STATEMENT_HEADER];
  for (const operation of operations) {
    const row = (fields: { reference?: string; requestId?: string; amount?: bigint; status?: string } = {}) =>
      [
        date,
        fields.reference ?? operation.bankReference,
        fields.requestId ?? operation.requestId,
        operation.direction,
        (fields.amount ?? operation.amount).toString(),
        operation.currency,
        fields.status ?? operation.status,
      ].join(',');
    switch (operation.faults.statement) {
      case 'missing':
        break;
      case 'duplicate':
        lines.push(row(), row());
        break;
      case 'amount_mismatch':
        lines.push(row({ amount: operation.amount + 1n }));
        break;
      case 'extra':
        lines.push(
          row(),
          row({
            reference: `${operation.bankReference}X`,
            requestId: `sandbox-extra-${operation.bankReference}`,
            status: 'succeeded',
          }),
        );
        break;
      default:
        lines.push(row());
    }
  }
  return `${lines.join('\n')}\n`;
}
