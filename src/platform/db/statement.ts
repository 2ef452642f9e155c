/**
 * The parameters and names of one SQL statement that several modules write parts of (the
 * ledger's batch statement with its commit participants' writes). Each part asks for
 * placeholders and CTE names here, so parts never collide.
 */
export class StatementBuilder {
  readonly values: unknown[] = [];
  private names = 0;

  /** `offset`: placeholders the statement already uses ($1..$offset). */
  constructor(private readonly offset = 0) {}

  /** The placeholder for `value` (`$n`); cast it at the use site, e.g. `${sql.param(ids)}::uuid[]`. */
  param(value: unknown): string {
    this.values.push(value);
    return `$${this.offset + this.values.length}`;
  }

  /** A CTE name no other part of the statement uses. */
  name(base: string): string {
    this.names++;
    return `${base}_${this.names}`;
  }
}
