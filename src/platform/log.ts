import { createWriteStream } from 'node:fs';
import pino, { type Logger } from 'pino';

export type { Logger };

/**
 * Structured JSON logs. Secrets and personal data are redacted by path wherever they might
 * appear (headers, bodies, errors); tests scan the whole suite's logs for leaks.
 */
export const REDACTED_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["x-api-key"]',
  'req.headers["idempotency-key"]',
  '*.pin',
  '*.new_pin',
  '*.old_pin',
  '*.password',
  '*.otp',
  '*.sms_code',
  '*.verification_code',
  '*.id_number',
  '*.card_number',
  '*.pan',
  '*.cvv',
  '*.token',
  '*.refresh_token',
  '*.access_token',
  '*.secret',
  '*.api_key',
  '*.private_key',
];

export function createLogger(options: { level: string; file?: string; name?: string }): Logger {
  const destination = options.file ? createWriteStream(options.file, { flags: 'a' }) : process.stdout;
  return pino(
    {
      name: options.name ?? 'tuyere',
      level: options.level,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      serializers: { err: pino.stdSerializers.err },
    },
    destination,
  );
}
