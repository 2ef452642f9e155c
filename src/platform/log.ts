import { createWriteStream } from 'node:fs';
import pino, { type Logger } from 'pino';
import pinoPretty from 'pino-pretty';

export type { Logger };

/**
 * Structured JSON logs (readable lines on a terminal). Secrets and personal data are redacted by path wherever they might
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

/** Mainland mobile numbers anywhere in a text (a path or a query string): `138****8000`. */
const PHONE = /(?<![0-9A-Za-z])(1[3-9]\d)\d{4}(\d{4})(?![0-9A-Za-z])/g;
export function maskPhones(text: string): string {
  return text.replace(PHONE, '$1****$2');
}

/**
 * The request as logged: like Fastify's own serializer, with phone numbers in the path or
 * query string masked (GET /v1/operator/users?phone=... must not put the number in the logs).
 */
function requestSerializer(request: {
  method?: string;
  url?: string;
  host?: string;
  ip?: string;
  socket?: { remotePort?: number };
}) {
  return {
    method: request.method,
    url: request.url === undefined ? undefined : maskPhones(request.url),
    host: request.host,
    remoteAddress: request.ip,
    remotePort: request.socket?.remotePort,
  };
}

/**
 * JSON lines to LOG_FILE or stdout; readable lines (pino-pretty) when stdout is a terminal and
 * no file is set (LOG_FORMAT=auto), or always/never with LOG_FORMAT=pretty/json.
 */
export function createLogger(options: {
  level: string;
  file?: string;
  name?: string;
  format?: 'auto' | 'json' | 'pretty';
  /** Where JSON lines go instead of LOG_FILE or stdout (tests collect them). */
  destination?: { write(line: string): void };
}): Logger {
  const format = options.format ?? 'auto';
  const pretty =
    !options.file && (format === 'pretty' || (format === 'auto' && process.stdout.isTTY === true));
  const destination = options.destination
    ? options.destination
    : options.file
      ? createWriteStream(options.file, { flags: 'a' })
      : pretty
        ? pinoPretty({
            colorize: process.stdout.isTTY === true,
            translateTime: 'SYS:HH:MM:ss',
            ignore: 'pid,hostname',
          })
        : process.stdout;
  return pino(
    {
      name: options.name ?? 'tuyere',
      level: options.level,
      redact: { paths: REDACTED_PATHS, censor: '[redacted]' },
      serializers: { err: pino.stdSerializers.err, req: requestSerializer },
    },
    destination,
  );
}
