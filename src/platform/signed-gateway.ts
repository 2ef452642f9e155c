import { createHmac, timingSafeEqual } from 'node:crypto';

/**
 * The generic signed HTTP gateway the SMS and real-name adapters speak: a JSON POST to a
 * configured URL, signed with HMAC-SHA256 over `<timestamp>.<body>` so the gateway can check
 * who sent it and when (replays outside its tolerance are refused there).
 *
 *   POST <url>
 *   Content-Type: application/json
 *   X-Tuyere-Timestamp: <unix seconds>
 *   X-Tuyere-Signature: v1=<hex HMAC-SHA256(secret, timestamp + "." + body)>
 *
 * Every fault comes back as a value, never a throw: the adapters map them to stable errors.
 */
export const SIGNATURE_HEADER = 'x-tuyere-signature';
export const TIMESTAMP_HEADER = 'x-tuyere-timestamp';

export type GatewayReply =
  | { ok: true; status: number; body: unknown }
  | {
      ok: false;
      /** timeout/network: no answer; status: a non-2xx answer; malformed: 2xx but not JSON. */
      cause: 'timeout' | 'network' | 'status' | 'malformed';
      status?: number;
    };

export interface SignedGatewayOptions {
  url: string;
  secret: string;
  timeoutMs: number;
  /** Unix seconds (injected for tests). */
  now?: () => number;
}

export function gatewaySignature(secret: string, timestamp: string, body: string): string {
  return `v1=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

/** What a gateway checks (exported for test servers and for anyone writing a gateway in TypeScript). */
export function verifyGatewaySignature(input: {
  secret: string;
  timestamp: string | undefined;
  signature: string | undefined;
  body: string;
  nowSeconds: number;
  toleranceSeconds?: number;
}): boolean {
  const { timestamp, signature } = input;
  if (!timestamp || !signature || !/^\d{1,12}$/.test(timestamp)) return false;
  if (Math.abs(input.nowSeconds - Number(timestamp)) > (input.toleranceSeconds ?? 300)) return false;
  const expected = Buffer.from(gatewaySignature(input.secret, timestamp, input.body));
  const presented = Buffer.from(signature);
  return expected.length === presented.length && timingSafeEqual(expected, presented);
}

const MAX_REPLY_BYTES = 64 * 1024;

export async function postSignedJson(options: SignedGatewayOptions, payload: unknown): Promise<GatewayReply> {
  const body = JSON.stringify(payload);
  const timestamp = String(options.now?.() ?? Math.floor(Date.now() / 1000));
  let response: Response;
  try {
    response = await fetch(options.url, {
      method: 'POST',
      headers: {
        'content-type': 'application/json',
        [TIMESTAMP_HEADER]: timestamp,
        [SIGNATURE_HEADER]: gatewaySignature(options.secret, timestamp, body),
      },
      body,
      redirect: 'error',
      signal: AbortSignal.timeout(options.timeoutMs),
    });
  } catch (error) {
    const name = (error as Error).name;
    return { ok: false, cause: name === 'TimeoutError' || name === 'AbortError' ? 'timeout' : 'network' };
  }
  let text: string;
  try {
    text = await response.text();
  } catch (error) {
    const name = (error as Error).name;
    return { ok: false, cause: name === 'TimeoutError' || name === 'AbortError' ? 'timeout' : 'network' };
  }
  if (!response.ok) return { ok: false, cause: 'status', status: response.status };
  if (text.length > MAX_REPLY_BYTES) return { ok: false, cause: 'malformed', status: response.status };
  if (text.trim() === '') return { ok: true, status: response.status, body: null };
  try {
    return { ok: true, status: response.status, body: JSON.parse(text) };
  } catch {
    return { ok: false, cause: 'malformed', status: response.status };
  }
}
