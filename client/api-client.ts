/**
 * A typed client for every route of the momo-sync app API. It asks the app for a token before
 * each call, retries what is safe to retry (honouring `Retry-After` up to a bound), and turns
 * every failure into an {@link ApiError} or a {@link NetworkError}.
 */
import { ApiError, NetworkError } from './errors';
import type {
  Account,
  AccountList,
  ErrorBody,
  Page,
  RelinkResult,
  SettingsUpdate,
  SyncRequest,
  SyncRun,
  Transaction,
} from './types';
import { type WaitForSyncOptions, type WaitForSyncResult, waitForSync } from './wait-for-sync';

/** Returns a valid access token (the app's auth SDK refreshes it as it needs). */
export type TokenProvider = () => Promise<string>;

export interface RetryPolicy {
  /** Attempts per call, the first included. @default 3 */
  maxAttempts?: number;
  /** The longest `Retry-After` the client waits out itself; longer ones throw. @default 10 s */
  maxRetryAfterMs?: number;
  /** First backoff step for retries without `Retry-After`. @default 300 ms */
  baseDelayMs?: number;
  /** Largest backoff step. @default 5 s */
  maxDelayMs?: number;
}

export interface ClientOptions {
  /** The API's base URL, e.g. `http://127.0.0.1:3000` for the local stack. */
  baseUrl: string;
  getToken: TokenProvider;
  /** @default globalThis.fetch */
  fetch?: typeof fetch;
  retry?: RetryPolicy;
  /** Per-request timeout. @default 15 s */
  timeoutMs?: number;
  /** Injectable for tests. */
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

export interface PageQuery {
  limit?: number;
  cursor?: string;
}

export interface TransactionQuery extends PageQuery {
  /** Earliest creation time, inclusive (RFC 3339). */
  from?: string;
  /** Latest creation time, inclusive (RFC 3339). */
  to?: string;
}

interface CallOptions {
  query?: Record<string, string | number | undefined>;
  body?: unknown;
  /** Whether the call may be sent again after a network failure (it may have arrived). */
  idempotent: boolean;
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** The app API over fetch. */
export class MomoSyncClient {
  private readonly baseUrl: string;
  private readonly fetchImpl: typeof fetch;
  private readonly maxAttempts: number;
  private readonly maxRetryAfterMs: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly timeoutMs: number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly random: () => number;

  constructor(private readonly options: ClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.fetchImpl = options.fetch ?? ((input, init) => globalThis.fetch(input, init));
    this.maxAttempts = Math.max(1, options.retry?.maxAttempts ?? 3);
    this.maxRetryAfterMs = options.retry?.maxRetryAfterMs ?? 10_000;
    this.baseDelayMs = options.retry?.baseDelayMs ?? 300;
    this.maxDelayMs = options.retry?.maxDelayMs ?? 5_000;
    this.timeoutMs = options.timeoutMs ?? 15_000;
    this.sleep = options.sleep ?? defaultSleep;
    this.random = options.random ?? Math.random;
  }

  /** The caller's accounts with their sync state. */
  listAccounts(): Promise<AccountList> {
    return this.call('GET', '/accounts', { idempotent: true });
  }

  /** Asks for a sync now: `queued` names the run, `running` means one is under way already. */
  requestSync(accountId: string): Promise<SyncRequest> {
    // A lost answer must not become a second request: the server would count it against the
    // interval and answer 429. The offline queue deals with requests that never arrived.
    return this.call('POST', `${accountPath(accountId)}/sync`, { idempotent: false });
  }

  /** One page of the account's sync runs, newest first. */
  listSyncRuns(accountId: string, query: PageQuery = {}): Promise<Page<SyncRun>> {
    return this.call('GET', `${accountPath(accountId)}/sync-runs`, {
      query: { limit: query.limit, cursor: query.cursor },
      idempotent: true,
    });
  }

  /** One page of the account's transactions, newest first. */
  listTransactions(accountId: string, query: TransactionQuery = {}): Promise<Page<Transaction>> {
    return this.call('GET', `${accountPath(accountId)}/transactions`, {
      query: { limit: query.limit, cursor: query.cursor, from: query.from, to: query.to },
      idempotent: true,
    });
  }

  /** Hands the link reference of a finished re-link flow to the API. */
  relink(accountId: string, linkReference: string): Promise<RelinkResult> {
    return this.call('POST', `${accountPath(accountId)}/relink`, {
      body: { link_reference: linkReference },
      idempotent: false,
    });
  }

  /** Changes the account's sync interval and push preference. */
  updateSettings(accountId: string, update: SettingsUpdate): Promise<Account> {
    return this.call('PATCH', `${accountPath(accountId)}/settings`, {
      body: update,
      idempotent: true,
    });
  }

  /** Polls the sync runs until the sync `request` stands for has finished (or time runs out). */
  waitForSync(request: SyncRequest, options: WaitForSyncOptions = {}): Promise<WaitForSyncResult> {
    return waitForSync(this, request, { sleep: this.sleep, ...options });
  }

  private async call<T>(method: string, path: string, options: CallOptions): Promise<T> {
    const url = new URL(`${this.baseUrl}${path}`);
    for (const [name, value] of Object.entries(options.query ?? {})) {
      if (value !== undefined) url.searchParams.set(name, String(value));
    }
    let retriedUnauthorized = false;
    for (let attempt = 1; ; attempt += 1) {
      const last = attempt >= this.maxAttempts;
      let response: Response;
      try {
        response = await this.send(method, url, options.body);
      } catch (error) {
        if (options.idempotent && !last) {
          await this.sleep(this.backoffMs(attempt));
          continue;
        }
        throw new NetworkError(`${method} ${path} got no answer`, error);
      }
      if (response.ok) return (await readJson(response)) as T;
      const failure = await toApiError(response);
      // A token can expire between the provider handing it out and the gateway checking it.
      if (failure.status === 401 && !retriedUnauthorized) {
        retriedUnauthorized = true;
        continue;
      }
      const delay = last ? undefined : this.retryDelay(failure, attempt);
      if (delay === undefined) throw failure;
      await this.sleep(delay);
    }
  }

  /** How long to wait before trying again, or undefined when this failure is final. */
  private retryDelay(failure: ApiError, attempt: number): number | undefined {
    if (failure.retryAfterSeconds !== undefined) {
      const ms = failure.retryAfterSeconds * 1000;
      return ms <= this.maxRetryAfterMs ? ms : undefined;
    }
    // 429 without Retry-After is the gateway's throttle; 5xx may be one bad instance. The
    // server rolls a failed sync or relink back, so even a POST may be sent again after a 5xx.
    if (failure.status === 429 || failure.status >= 500) return this.backoffMs(attempt);
    return undefined;
  }

  private backoffMs(attempt: number): number {
    const ceiling = Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1));
    return Math.floor(this.random() * ceiling);
  }

  private async send(method: string, url: URL, body: unknown): Promise<Response> {
    const token = await this.options.getToken();
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), this.timeoutMs);
    try {
      return await this.fetchImpl(url.toString(), {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          accept: 'application/json',
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
        signal: controller.signal,
      });
    } finally {
      clearTimeout(timer);
    }
  }
}

function accountPath(accountId: string): string {
  return `/accounts/${encodeURIComponent(accountId)}`;
}

async function readJson(response: Response): Promise<unknown> {
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new ApiError(response.status, 'unexpected_response', 'the API answered with no JSON');
  }
}

async function toApiError(response: Response): Promise<ApiError> {
  const retryAfter = parseRetryAfter(response.headers.get('retry-after'));
  let body: unknown;
  try {
    body = JSON.parse(await response.text());
  } catch {
    body = undefined;
  }
  const error = (body as Partial<ErrorBody> | undefined)?.error;
  if (error && typeof error.code === 'string') {
    return new ApiError(response.status, error.code, error.message ?? '', retryAfter);
  }
  const message = (body as { message?: unknown } | undefined)?.message;
  return new ApiError(
    response.status,
    typeof message === 'string' ? 'gateway' : 'unexpected_response',
    typeof message === 'string' ? message : `HTTP ${response.status}`,
    retryAfter,
  );
}

/** `Retry-After` in whole seconds: delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | null, now = Date.now()): number | undefined {
  if (value === null || value.trim() === '') return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim());
  const date = Date.parse(value);
  if (Number.isNaN(date)) return undefined;
  return Math.max(0, Math.ceil((date - now) / 1000));
}
