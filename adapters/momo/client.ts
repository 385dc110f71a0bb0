/**
 * The MoMo provider client: the only code that speaks docs/momo-provider-contract.md. It owns the
 * platform token, timeouts, retries and the failure taxonomy, so the sync engine sees either a
 * normalised page or one classified error.
 */
import { isProviderError, ProviderError } from '../../core/errors';
import type { StatementPage, StatementQuery } from '../../core/model';
import type { FetchOptions, WalletProvider } from '../../core/ports';
import {
  classifyHttpFailure,
  classifyNetworkFailure,
  invalidPayload,
  parseRetryAfter,
  type RouteKind,
} from './classify';
import { parseStatement, parseToken } from './payload';

/** The slice of Powertools' Logger the client uses; pass the service's logger. */
export interface MomoLogger {
  debug(message: string, ...extra: Record<string, unknown>[]): void;
  info(message: string, ...extra: Record<string, unknown>[]): void;
  warn(message: string, ...extra: Record<string, unknown>[]): void;
  error(message: string, ...extra: Record<string, unknown>[]): void;
}

export interface MomoClientOptions {
  /** Scheme, host and port, without `/collection`: `https://sandbox.momodeveloper.mtn.com`. */
  baseUrl: string;
  apiUser: string;
  apiKey: string;
  subscriptionKey: string;
  /** `X-Target-Environment`: `sandbox`, or the market's id in production (e.g. `mtnghana`). */
  targetEnvironment: string;
  /** Per HTTP request. Default 5000. */
  timeoutMs?: number;
  /** Attempts per call, the first included; token refreshes do not count. Default 4. */
  maxAttempts?: number;
  /** First backoff cap; it doubles per attempt. Default 200. */
  baseDelayMs?: number;
  /**
   * Largest backoff, and the longest `Retry-After` honoured when a call has no deadline.
   * Default 5000.
   */
  maxDelayMs?: number;
  /** The `limit` asked of the statement route. Default 100. */
  pageSize?: number;
  /**
   * Shortest time between the starts of two requests of this client: its share of the provider's
   * rate limit (the limit divided by the consumers that call at once). Spacing the calls keeps
   * the fleet under the limit without spending calls on 429s. Default 0, no spacing.
   */
  minIntervalMs?: number;
  fetch?: typeof fetch;
  logger?: MomoLogger;
  /** Uniform in [0, 1); drives the backoff jitter. Default `Math.random`. */
  random?: () => number;
  sleep?: (ms: number) => Promise<void>;
  /** Epoch milliseconds, for deadlines and token expiry. Default `Date.now`. */
  now?: () => number;
}

interface CachedToken {
  value: string;
  /** Past this, the next call fetches a new token. */
  refreshAt: number;
  /** Past this, the token must not be used at all. */
  expiresAt: number;
}

/**
 * Tokens live at module level so that a warm Lambda container reuses one across invocations and
 * client instances; one token per call would double the provider calls.
 */
const tokenCache = new Map<string, CachedToken>();
const tokenRequests = new Map<string, Promise<CachedToken>>();

/** Refresh this long before expiry, so a token never expires between check and use. */
const REFRESH_MARGIN_MS = 5 * 60_000;

/** Forgets every cached platform token (tests, and credential rotation). */
export function clearMomoTokenCache(): void {
  tokenCache.clear();
  tokenRequests.clear();
}

const defaultSleep = (ms: number): Promise<void> =>
  new Promise((resolve) => setTimeout(resolve, ms));

interface Call {
  route: 'token' | 'statement';
  kind: RouteKind;
  method: 'GET' | 'POST';
  url: string;
  headers: Record<string, string>;
}

/** {@link WalletProvider} over the MoMo HTTP contract. */
export class MomoClient implements WalletProvider {
  private readonly baseUrl: string;
  private readonly cacheKey: string;
  private readonly timeoutMs: number;
  private readonly maxAttempts: number;
  private readonly baseDelayMs: number;
  private readonly maxDelayMs: number;
  private readonly pageSize: number;
  private readonly minIntervalMs: number;
  /** Epoch milliseconds at which the next request may start, when spacing is on. */
  private nextRequestAt = 0;
  private readonly fetch: typeof fetch;
  private readonly random: () => number;
  private readonly sleep: (ms: number) => Promise<void>;
  private readonly now: () => number;

  constructor(private readonly options: MomoClientOptions) {
    this.baseUrl = options.baseUrl.replace(/\/+$/, '');
    this.cacheKey = `${this.baseUrl}|${options.apiUser}`;
    this.timeoutMs = options.timeoutMs ?? 5000;
    this.maxAttempts = Math.max(1, options.maxAttempts ?? 4);
    this.baseDelayMs = options.baseDelayMs ?? 200;
    this.maxDelayMs = options.maxDelayMs ?? 5000;
    this.pageSize = options.pageSize ?? 100;
    this.minIntervalMs = Math.max(0, options.minIntervalMs ?? 0);
    this.fetch = options.fetch ?? globalThis.fetch;
    this.random = options.random ?? Math.random;
    this.sleep = options.sleep ?? defaultSleep;
    this.now = options.now ?? Date.now;
  }

  /** One statement page, normalised; throws a classified `ProviderError` once retries are spent. */
  async fetchStatement(query: StatementQuery, options: FetchOptions = {}): Promise<StatementPage> {
    const search = new URLSearchParams({
      from: query.from,
      to: query.to,
      limit: String(this.pageSize),
    });
    if (query.pageToken) search.set('pageToken', query.pageToken);
    const path = `/collection/v1_0/wallets/${encodeURIComponent(query.walletId)}/statement`;
    const { body, status } = await this.withRetries('statement', options, async () => {
      const token = await this.token(options);
      return {
        token,
        call: {
          route: 'statement',
          kind: 'wallet',
          method: 'GET',
          url: `${this.baseUrl}${path}?${search}`,
          headers: {
            authorization: `Bearer ${token}`,
            'x-target-environment': this.options.targetEnvironment,
            'ocp-apim-subscription-key': this.options.subscriptionKey,
            accept: 'application/json',
          },
        },
      };
    });
    return parseStatement(body, query.walletId, status);
  }

  /**
   * Runs one call with the retry policy: transient failures back off (capped exponential, full
   * jitter), a 429 waits its `Retry-After` when that fits, and a refused token is refreshed once.
   */
  private async withRetries(
    route: Call['route'],
    options: FetchOptions,
    prepare: () => Promise<{ token: string; call: Call }>,
  ): Promise<{ body: unknown; status: number }> {
    let refreshedToken = false;
    let attempt = 1;
    for (;;) {
      let token: string | undefined;
      try {
        const prepared = await prepare();
        token = prepared.token;
        return await this.send(prepared.call, options);
      } catch (error) {
        if (!isProviderError(error)) throw error;
        if (error.code === 'INVALID_TOKEN' && token !== undefined && !refreshedToken) {
          refreshedToken = true;
          this.forgetToken(token);
          this.options.logger?.info('momo token refused, refreshing', { route });
          continue;
        }
        const delayMs = this.retryDelay(error, attempt, options.deadline);
        if (delayMs === undefined) {
          this.options.logger?.warn('momo request failed', {
            route,
            attempt,
            failureClass: error.failureClass,
            code: error.code,
            status: error.status,
          });
          throw error;
        }
        this.options.logger?.info('momo request retrying', {
          route,
          attempt,
          failureClass: error.failureClass,
          code: error.code,
          status: error.status,
          delayMs,
        });
        options.onRetry?.({ failureClass: error.failureClass, delayMs });
        await this.sleep(delayMs);
        attempt += 1;
      }
    }
  }

  /** How long to wait before the next attempt, or undefined when the error must surface now. */
  private retryDelay(error: ProviderError, attempt: number, deadline?: number): number | undefined {
    if (attempt >= this.maxAttempts) return undefined;
    const backoff = Math.floor(
      this.random() * Math.min(this.maxDelayMs, this.baseDelayMs * 2 ** (attempt - 1)),
    );
    let delayMs: number;
    if (error.failureClass === 'transient') {
      delayMs = backoff;
    } else if (error.failureClass === 'rate_limited') {
      delayMs = error.retryAfterMs ?? backoff;
      // Without a deadline there is no budget to measure against, so bound the wait instead.
      if (deadline === undefined && delayMs > this.maxDelayMs) return undefined;
    } else {
      return undefined;
    }
    if (deadline !== undefined && this.now() + delayMs >= deadline) return undefined;
    return delayMs;
  }

  /** One HTTP request; resolves with a 2xx JSON body or throws a classified error. */
  private async send(
    call: Call,
    options: FetchOptions,
  ): Promise<{ body: unknown; status: number }> {
    await this.waitForTurn();
    const timeoutMs = Math.min(
      this.timeoutMs,
      options.deadline === undefined ? Number.POSITIVE_INFINITY : options.deadline - this.now(),
    );
    if (timeoutMs <= 0) throw new ProviderError('transient', { code: 'DEADLINE_EXCEEDED' });
    options.onRequest?.();
    let response: Response;
    let text: string;
    try {
      response = await this.fetch(call.url, {
        method: call.method,
        headers: call.headers,
        signal: AbortSignal.timeout(timeoutMs),
      });
      text = await response.text();
    } catch (error) {
      throw classifyNetworkFailure(error);
    }
    let body: unknown;
    try {
      body = text === '' ? undefined : JSON.parse(text);
    } catch {
      body = undefined;
      if (response.ok) throw invalidPayload(response.status, 'body');
    }
    if (response.ok) return { body, status: response.status };
    throw classifyHttpFailure({
      route: call.kind,
      status: response.status,
      body,
      retryAfterMs: parseRetryAfter(response.headers.get('retry-after'), this.now()),
    });
  }

  /** Holds a request until its turn, so that starts stay `minIntervalMs` apart. */
  private async waitForTurn(): Promise<void> {
    if (this.minIntervalMs === 0) return;
    const now = this.now();
    const startAt = Math.max(now, this.nextRequestAt);
    // Claimed before waiting, so concurrent callers of one client queue up instead of colliding.
    this.nextRequestAt = startAt + this.minIntervalMs;
    if (startAt > now) await this.sleep(startAt - now);
  }

  /** The cached platform token, fetched once for all concurrent callers when due. */
  private async token(options: FetchOptions): Promise<string> {
    const cached = tokenCache.get(this.cacheKey);
    const now = this.now();
    if (cached && now < cached.refreshAt) return cached.value;
    let pending = tokenRequests.get(this.cacheKey);
    if (!pending) {
      pending = this.requestToken(options).finally(() => tokenRequests.delete(this.cacheKey));
      tokenRequests.set(this.cacheKey, pending);
    }
    try {
      return (await pending).value;
    } catch (error) {
      // An early refresh that hit a blip can fall back on the token that is still valid.
      const stillValid = cached && this.now() < cached.expiresAt;
      if (stillValid && isProviderError(error) && error.failureClass === 'transient') {
        return cached.value;
      }
      throw error;
    }
  }

  private async requestToken(options: FetchOptions): Promise<CachedToken> {
    const { apiUser, apiKey, subscriptionKey } = this.options;
    const { body, status } = await this.send(
      {
        route: 'token',
        kind: 'token',
        method: 'POST',
        url: `${this.baseUrl}/collection/token/`,
        headers: {
          authorization: `Basic ${Buffer.from(`${apiUser}:${apiKey}`).toString('base64')}`,
          'ocp-apim-subscription-key': subscriptionKey,
          accept: 'application/json',
        },
      },
      options,
    );
    const issued = parseToken(body, status);
    const lifetimeMs = issued.expiresInSeconds * 1000;
    const obtainedAt = this.now();
    const token: CachedToken = {
      value: issued.accessToken,
      // Short-lived tokens would never be reused with a fixed margin; take half their life then.
      refreshAt: obtainedAt + lifetimeMs - Math.min(REFRESH_MARGIN_MS, lifetimeMs / 2),
      expiresAt: obtainedAt + lifetimeMs,
    };
    tokenCache.set(this.cacheKey, token);
    this.options.logger?.debug('momo token issued', { expiresInSeconds: issued.expiresInSeconds });
    return token;
  }

  private forgetToken(value: string): void {
    // Another caller may already have replaced it; only drop the one that was refused.
    if (tokenCache.get(this.cacheKey)?.value === value) tokenCache.delete(this.cacheKey);
  }
}
