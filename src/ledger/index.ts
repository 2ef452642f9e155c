/**
 * The ledger module's public API: the only way money moves in Tuyere. Other modules import
 * from here, never from the ledger's files or tables.
 */

export type { JoinedWrite, RenderedWrite } from '../platform/db/joined-write.ts';
export { EXPIRY_BATCH_MAX, Ledger, type LedgerOptions } from './ledger.ts';
export { ledgerModule } from './module.ts';
export { type AccountBalance, type AccountFilter, QUERY_LIMIT_MAX, type QueryFilter } from './query.ts';
export * from './results.ts';
export type { HistoryPage } from './store/reads.ts';
export * from './types.ts';
export {
  formatVerifyReport,
  type LedgerVerifyOptions,
  type VerifyProgress,
  type VerifyReport,
  type Violation,
  verifyLedger,
} from './verify.ts';
export type { CommitParticipant, WriterOptions } from './writer.ts';
