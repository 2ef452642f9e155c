export { Envelopes, type EnvelopesDeps, type EnvelopeView, type SendEnvelope } from './envelopes.ts';
export { GrabEngine, type GrabOutcome } from './grab-engine.ts';
export { envelopeJson, redpacketRoutes } from './routes.ts';
export { DEFAULT_ENVELOPE_RULES, type EnvelopeKind, type EnvelopeRules, validateEnvelope } from './rules.ts';
export { luckiestIndex, splitFixed, splitLucky } from './split.ts';
export { verifyRedpackets } from './verify.ts';
