/** The red-envelope module's public API. Other modules use the Envelopes service, never redpacket's tables. */
export { RedpacketAccounts, RedpacketTransfers } from './chart.ts';
export { Envelopes, type EnvelopeView, type SendEnvelope } from './envelopes.ts';
export { GrabEngine, type GrabOutcome, grabTransferId } from './grab-engine.ts';
export { redpacketModule } from './module.ts';
export type { EnvelopeKind, EnvelopeRules } from './rules.ts';
export { splitLucky } from './split.ts';
export type { EnvelopeStatus } from './state.ts';
export { verifyRedpackets } from './verify.ts';
