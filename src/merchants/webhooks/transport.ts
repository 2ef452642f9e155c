import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import http from 'node:http';
import https from 'node:https';
import { isIP } from 'node:net';
import { isPublicAddress } from './urls.ts';

/** What one POST to a webhook endpoint came to. `status` is null when no response arrived. */
export interface WebhookResponse {
  status: number | null;
  /** The start of the response body (at most RESPONSE_BODY_LIMIT characters). */
  body: string | null;
  error: string | null;
  latencyMs: number;
}

/** Sends one webhook request. Injectable so tests and other transports can stand in. */
export type WebhookTransport = (request: {
  url: string;
  headers: Record<string, string>;
  body: string;
  timeoutMs: number;
}) => Promise<WebhookResponse>;

export const RESPONSE_BODY_LIMIT = 1024;

/**
 * POSTs with node:http(s): a hard timeout over the whole exchange, redirects not followed (a
 * 3xx is a failure, as Standard Webhooks senders do), only the first RESPONSE_BODY_LIMIT
 * characters of the response kept. With `publicOnly` every resolved address must be public,
 * so a name re-pointed at an internal address after registration (DNS rebinding) is refused.
 */
export function httpTransport(options: { publicOnly: boolean }): WebhookTransport {
  const guardedLookup: typeof dnsLookup = ((
    hostname: string,
    lookupOptions: object,
    callback: (error: Error | null, address: string | LookupAddress[], family?: number) => void,
  ) => {
    dnsLookup(hostname, { ...lookupOptions, all: true }, (error, addresses) => {
      if (error) return callback(error, []);
      const list = addresses as LookupAddress[];
      const refused = list.find((a) => !isPublicAddress(a.address));
      if (refused) return callback(new Error(`refused: ${hostname} resolves to a non-public address`), []);
      if ((lookupOptions as { all?: boolean }).all) return callback(null, list);
      callback(null, list[0]!.address, list[0]!.family);
    });
  }) as typeof dnsLookup;

  return ({ url, headers, body, timeoutMs }) =>
    new Promise<WebhookResponse>((resolve) => {
      const started = performance.now();
      const latency = () => Math.round(performance.now() - started);
      let settled = false;
      const finish = (response: Omit<WebhookResponse, 'latencyMs'>) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        resolve({ ...response, latencyMs: latency() });
      };
      const target = new URL(url);
      // IP literals skip the lookup: check them here (an endpoint registered as a local URL in
      // development must not be reached from a production process).
      const literal = target.hostname.replace(/^\[|\]$/g, '');
      if (options.publicOnly && isIP(literal) && !isPublicAddress(literal)) {
        settled = true;
        resolve({ status: null, body: null, error: 'refused: a non-public address', latencyMs: 0 });
        return;
      }
      const client = target.protocol === 'https:' ? https : http;
      const request = client.request(
        target,
        {
          method: 'POST',
          headers: {
            ...headers,
            'content-type': 'application/json',
            'content-length': String(Buffer.byteLength(body)),
            'user-agent': 'Tuyere-Webhooks/1',
          },
          ...(options.publicOnly ? { lookup: guardedLookup } : {}),
        },
        (response) => {
          const chunks: Buffer[] = [];
          let kept = 0;
          response.on('data', (chunk: Buffer) => {
            if (kept < RESPONSE_BODY_LIMIT * 4) {
              chunks.push(chunk);
              kept += chunk.length;
            }
          });
          const done = () =>
            finish({
              status: response.statusCode ?? null,
              body: Buffer.concat(chunks).toString('utf8').slice(0, RESPONSE_BODY_LIMIT),
              error: null,
            });
          response.on('end', done);
          response.on('error', done);
        },
      );
      const timer = setTimeout(() => {
        finish({ status: null, body: null, error: `timeout after ${timeoutMs} ms` });
        request.destroy();
      }, timeoutMs);
      request.on('error', (error) =>
        finish({ status: null, body: null, error: error.message.slice(0, 500) }),
      );
      request.end(body);
    });
}
