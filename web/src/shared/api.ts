/** The one HTTP client of both apps: JSON in and out, the error envelope turned into ApiError. */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly requestId?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export interface Tokens {
  access_token: string;
  refresh_token?: string;
}

export interface ApiOptions {
  /** Where tokens are kept between visits (localStorage key). */
  storageKey: string;
  /** Called when the session is gone for good (refresh failed). */
  onSignedOut?: () => void;
}

export interface RequestOptions {
  body?: unknown;
  idempotencyKey?: string;
  signal?: AbortSignal;
}

export class Api {
  private tokens: Tokens | null;
  private refreshing: Promise<boolean> | null = null;

  constructor(private readonly options: ApiOptions) {
    this.tokens = readTokens(options.storageKey);
  }

  get signedIn(): boolean {
    return this.tokens !== null;
  }

  get accessToken(): string | undefined {
    return this.tokens?.access_token;
  }

  setTokens(tokens: Tokens | null): void {
    this.tokens = tokens;
    if (tokens) localStorage.setItem(this.options.storageKey, JSON.stringify(tokens));
    else localStorage.removeItem(this.options.storageKey);
  }

  get<T>(path: string, signal?: AbortSignal): Promise<T> {
    return this.request<T>('GET', path, { signal });
  }

  post<T>(path: string, body: unknown = {}, idempotencyKey?: string): Promise<T> {
    return this.request<T>('POST', path, { body, idempotencyKey });
  }

  patch<T>(path: string, body: unknown): Promise<T> {
    return this.request<T>('PATCH', path, { body });
  }

  async request<T>(method: string, path: string, options: RequestOptions = {}, retried = false): Promise<T> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (options.body !== undefined) headers['content-type'] = 'application/json';
    if (this.tokens) headers.authorization = `Bearer ${this.tokens.access_token}`;
    if (options.idempotencyKey) headers['idempotency-key'] = options.idempotencyKey;
    let response: Response;
    try {
      response = await fetch(path, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: options.signal,
      });
    } catch (error) {
      if ((error as Error).name === 'AbortError') throw error;
      throw new ApiError(0, 'network_error', 'The network is unavailable.');
    }
    if (response.status === 401 && !retried && this.tokens?.refresh_token && (await this.refresh())) {
      return this.request<T>(method, path, options, true);
    }
    if (response.status === 204) return undefined as T;
    const text = await response.text();
    const data = text ? safeJson(text) : undefined;
    if (!response.ok) {
      const error = (data as { error?: { code?: string; message?: string; request_id?: string } })?.error;
      if (response.status === 401 && this.tokens) {
        this.setTokens(null);
        this.options.onSignedOut?.();
      }
      throw new ApiError(
        response.status,
        error?.code ?? `http_${response.status}`,
        error?.message ?? response.statusText,
        error?.request_id,
      );
    }
    return data as T;
  }

  /** Rotates the refresh token once, however many requests found the access token expired. */
  private refresh(): Promise<boolean> {
    this.refreshing ??= (async () => {
      try {
        const response = await fetch('/v1/auth/refresh', {
          method: 'POST',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ refresh_token: this.tokens?.refresh_token }),
        });
        if (!response.ok) return false;
        const next = (await response.json()) as Tokens;
        this.setTokens({ access_token: next.access_token, refresh_token: next.refresh_token });
        return true;
      } catch {
        return false;
      } finally {
        setTimeout(() => {
          this.refreshing = null;
        }, 0);
      }
    })();
    return this.refreshing;
  }

  /**
   * Reads a Server-Sent Events stream with fetch, so the access token travels in the
   * Authorization header (EventSource cannot send headers, and a token in the URL would
   * end up in logs). Reconnects with backoff until aborted.
   */
  async stream(
    path: string,
    onEvent: (type: string, data: unknown, id?: string) => void,
    signal: AbortSignal,
    lastId: () => string | undefined,
  ): Promise<void> {
    let delay = 500;
    while (!signal.aborted) {
      try {
        const headers: Record<string, string> = { accept: 'text/event-stream' };
        if (this.tokens) headers.authorization = `Bearer ${this.tokens.access_token}`;
        const last = lastId();
        if (last) headers['last-event-id'] = last;
        const response = await fetch(path, { headers, signal });
        if (response.status === 401 && this.tokens?.refresh_token) {
          await this.refresh();
          continue;
        }
        if (!response.ok || !response.body) throw new Error(`stream ${response.status}`);
        delay = 500;
        await readEvents(response.body, onEvent);
      } catch (error) {
        if (signal.aborted) return;
        void error;
      }
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 8000);
    }
  }
}

async function readEvents(
  body: ReadableStream<Uint8Array>,
  onEvent: (type: string, data: unknown, id?: string) => void,
): Promise<void> {
  const reader = body.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += decoder.decode(value, { stream: true });
    let end = buffer.indexOf('\n\n');
    while (end >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let type = 'message';
      let id: string | undefined;
      const data: string[] = [];
      for (const line of block.split('\n')) {
        if (line.startsWith('event:')) type = line.slice(6).trim();
        else if (line.startsWith('data:')) data.push(line.slice(5).trimStart());
        else if (line.startsWith('id:')) id = line.slice(3).trim();
      }
      if (data.length) onEvent(type, safeJson(data.join('\n')), id);
      end = buffer.indexOf('\n\n');
    }
  }
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function readTokens(key: string): Tokens | null {
  try {
    const raw = localStorage.getItem(key);
    return raw ? (JSON.parse(raw) as Tokens) : null;
  } catch {
    return null;
  }
}

/** A fresh Idempotency-Key for one money-moving intent (kept across retries of that intent). */
export function newIdempotencyKey(): string {
  return crypto.randomUUID();
}
