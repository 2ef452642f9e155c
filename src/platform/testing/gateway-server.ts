import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { SIGNATURE_HEADER, TIMESTAMP_HEADER, verifyGatewaySignature } from '../signed-gateway.ts';

/** One request a test gateway received, with whether its signature checked out. */
export interface GatewayRequest {
  path: string;
  body: unknown;
  signed: boolean;
}

/**
 * A local stand-in for an SMS / real-name / bank gateway (tests): checks each request's
 * HMAC signature against `secret` (401 when it fails), records it, and answers with `reply`.
 */
export async function startTestGateway(options: {
  secret: string;
  reply?: (request: GatewayRequest) => { status: number; body?: unknown; delayMs?: number };
}): Promise<{ url: string; requests: GatewayRequest[]; close(): Promise<void> }> {
  const requests: GatewayRequest[] = [];
  const server: Server = createServer(async (req: IncomingMessage, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const signed = verifyGatewaySignature({
      secret: options.secret,
      timestamp: req.headers[TIMESTAMP_HEADER] as string | undefined,
      signature: req.headers[SIGNATURE_HEADER] as string | undefined,
      body: text,
      nowSeconds: Math.floor(Date.now() / 1000),
    });
    let body: unknown = text;
    try {
      body = JSON.parse(text);
    } catch {}
    const request = { path: req.url ?? '/', body, signed };
    requests.push(request);
    const answer = signed
      ? (options.reply?.(request) ?? { status: 200, body: {} })
      : { status: 401, body: {} };
    if (answer.delayMs) await new Promise((resolve) => setTimeout(resolve, answer.delayMs));
    if (res.destroyed) return;
    res.writeHead(answer.status, { 'content-type': 'application/json' });
    res.end(answer.body === undefined ? '' : JSON.stringify(answer.body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
