/**
 * The console's only way to the server: the public HTTP API (/api/v1), with the session's bearer
 * token. Errors arrive as {error:{code,message}} and are raised as ApiError with that code.
 * A 401 ends the session (the shell sends the analyst back to sign in); so does a 403 saying the
 * signed-in account's role is not an analyst's (an account demoted while signed in): the server
 * session is signed out too, and the shell forgets what it showed.
 */
import { isNotAnalystRefusal } from './refusal';

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
  /** The route does not exist on this server (a planned API not deployed yet). */
  get missingRoute(): boolean {
    return this.status === 404 && /^no route /.test(this.message);
  }
  /** The server refused the signed-in account for its role, not for this one call (see isNotAnalystRefusal). */
  get notAnalyst(): boolean {
    return isNotAnalystRefusal(this.status, this.code, this.message);
  }
}

/** Why the console's session ended: the server said so (401), or the account is no analyst any more. */
export type EndReason = 'ended' | 'not_analyst';

type Listener = (reason: EndReason) => void;
const TOKEN_KEY = 'warden.session';
let token: string | null = sessionStorage.getItem(TOKEN_KEY);
const unauthorised = new Set<Listener>();

export const session = {
  token: () => token,
  account: () => sessionStorage.getItem(`${TOKEN_KEY}.account`),
  set(t: string, account: string) {
    token = t;
    sessionStorage.setItem(TOKEN_KEY, t);
    sessionStorage.setItem(`${TOKEN_KEY}.account`, account);
  },
  clear() {
    token = null;
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(`${TOKEN_KEY}.account`);
  },
  onUnauthorised(l: Listener): () => void {
    unauthorised.add(l);
    return () => unauthorised.delete(l);
  },
  /**
   * Ends the console's session here and on the server (DELETE /sessions/current, best effort: it
   * may be over already), then tells the shell, which forgets everything it showed.
   */
  end(reason: EndReason): void {
    const held = token;
    session.clear();
    if (held) void fetch(apiUrl('/sessions/current'), { method: 'DELETE', headers: { authorization: `Bearer ${held}` } }).catch(() => undefined);
    for (const l of unauthorised) l(reason);
  },
};

export interface RequestOptions {
  body?: unknown;
  query?: Record<string, string | number | boolean | undefined | null>;
  signal?: AbortSignal;
  /** Sign-in: no token, and a 401 is the caller's to show. */
  anonymous?: boolean;
  /** Non-2xx statuses whose body is an answer, not an error (audit verify answers 409 for a broken chain). */
  answerStatuses?: number[];
  /** Extra request headers (e.g. the device credential, never put in a URL). */
  headers?: Record<string, string>;
  /** A body sent as it is (an uploaded file) with its media type, instead of JSON. */
  raw?: { body: Blob; type: string };
}

export function apiUrl(path: string, query?: RequestOptions['query']): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query ?? {})) if (v !== undefined && v !== null && v !== '') q.set(k, String(v));
  const s = q.toString();
  return `/api/v1${path}${s ? `?${s}` : ''}`;
}

export async function api<T>(method: string, path: string, opts: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json', ...opts.headers };
  if (!opts.anonymous && token) headers.authorization = `Bearer ${token}`;
  if (opts.body !== undefined) headers['content-type'] = 'application/json';
  if (opts.raw) headers['content-type'] = opts.raw.type;
  const body = opts.raw ? opts.raw.body : opts.body !== undefined ? JSON.stringify(opts.body) : undefined;
  let res: Response;
  try {
    res = await fetch(apiUrl(path, opts.query), { method, headers, ...(body !== undefined ? { body } : {}), ...(opts.signal ? { signal: opts.signal } : {}) });
  } catch (err) {
    if ((err as Error).name === 'AbortError') throw err;
    throw new ApiError(0, 'network', 'the server cannot be reached');
  }
  const text = await res.text();
  let answer: unknown = undefined;
  try {
    answer = text ? JSON.parse(text) : undefined;
  } catch {
    answer = undefined;
  }
  if (!res.ok && !opts.answerStatuses?.includes(res.status)) {
    const e = (answer as { error?: { code?: string; message?: string } } | undefined)?.error;
    const err = new ApiError(res.status, e?.code ?? `http_${res.status}`, e?.message ?? res.statusText);
    if (res.status === 401 && !opts.anonymous) {
      session.clear();
      for (const l of unauthorised) l('ended');
    } else if (err.notAnalyst && !opts.anonymous && token) session.end('not_analyst');
    throw err;
  }
  return answer as T;
}

/** Downloads an API response (e.g. CSV) with the session's token, as a file. */
export async function download(path: string, query: RequestOptions['query'], filename: string): Promise<void> {
  const res = await fetch(apiUrl(path, query), { headers: token ? { authorization: `Bearer ${token}` } : {} });
  if (!res.ok) {
    const body = (await res.json().catch(() => undefined)) as { error?: { code?: string; message?: string } } | undefined;
    throw new ApiError(res.status, body?.error?.code ?? `http_${res.status}`, body?.error?.message ?? res.statusText);
  }
  const url = URL.createObjectURL(await res.blob());
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  a.click();
  setTimeout(() => URL.revokeObjectURL(url), 1000);
}
