/**
 * The bank module: the connector the wallet uses to reach a bank, and the sandbox bank that
 * stands in for one (faults included). See README.md beside this file.
 */

export { luhnValid, normalizePan } from './cards.ts';
export type {
  BankCallbackEvent,
  BankConnector,
  BankErrorCode,
  BankOperation,
  BankStatement,
  BoundCard,
  CardVerificationRequest,
  CardVerificationStarted,
  MovementRequest,
  MovementResult,
  StatementLine,
  StatusResult,
} from './connector.ts';
export { BankError } from './connector.ts';
export type { DemoBank } from './demo.ts';
export { HttpBankConnector, type HttpBankConnectorOptions } from './http-connector.ts';
export { bankModule } from './module.ts';
export type { SandboxFaults } from './sandbox/faults.ts';
export { type SandboxBank, type SandboxBankOptions, startSandboxBank } from './sandbox/server.ts';
export { BANK_SETTINGS, type BankConfig, bankSettings } from './settings.ts';
export type { CardType, DeclineReason, Direction, OperationStatus } from './types.ts';
export { signWebhook, verifyWebhook, WebhookVerifyError } from './webhook.ts';
