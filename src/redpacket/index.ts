export {
  CAMPAIGN_SENDER,
  Envelopes,
  type EnvelopesDeps,
  type EnvelopeView,
  MARKETING_ACCOUNT,
  type SendEnvelope,
} from './envelopes.ts';
export { GrabEngine, type GrabOutcome, grabTransferId } from './grab-engine.ts';
export { envelopeJson, redpacketRoutes } from './routes.ts';
export { DEFAULT_ENVELOPE_RULES, type EnvelopeKind, type EnvelopeRules, validateEnvelope } from './rules.ts';
export { luckiestIndex, splitFixed, splitLucky } from './split.ts';
export { STORM_LIMITS, type StormRequest, StormRunner, type StormStatus } from './storm.ts';
export { verifyRedpackets } from './verify.ts';
