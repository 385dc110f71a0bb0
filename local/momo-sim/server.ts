/**
 * The MoMo simulator's HTTP side: serves docs/momo-provider-contract.md over node:http, with a
 * token bucket, latency and seeded faults, so the real client can be tested against it in-process
 * and the local stack can run against it from the CLI.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { fromMinorUnits } from '../../core/money';
import { closeServer, listen } from '../net';
import { createRandom, type Random } from './random';
import {
  type AdvanceOptions,
  type AdvanceSummary,
  MomoWorld,
  type SeedWalletsOptions,
  type StatementKey,
  type WalletSpec,
  type WalletTruth,
} from './world';

/** Probabilities (0 to 1) of each fault per request; all 0 by default. */
export interface FaultConfig {
  /** Answer 500 `INTERNAL_PROCESSING_ERROR` or 503 `SERVICE_UNAVAILABLE`. */
  serverErrorRate: number;
  /** Hang for `timeoutHangMs` (past the client's timeout), then answer or drop the connection. */
  timeoutRate: number;
  timeoutHangMs: number;
  /** Destroy the connection without answering. */
  resetRate: number;
  /** Answer 429 as though other tenants had drained the bucket. */
  rateLimitBurstRate: number;
  /** `Retry-After` of a burst 429, in seconds. */
  retryAfterSeconds: number;
  /** Hand out a next-page token one entry early, so a transaction shows on two pages. */
  duplicateAcrossPagesRate: number;
  /** Corrupt a statement (an amount that is not a decimal). */
  malformedPayloadRate: number;
}

export type FaultKind =
  | 'server_error'
  | 'timeout'
  | 'reset'
  | 'rate_limit'
  | 'duplicate_across_pages'
  | 'malformed_payload';

export type SimRoute = 'token' | 'balance' | 'accountholder' | 'statement';

/**
 * A fault for the next matching request, ahead of the drawn ones. Without `route` it matches any
 * route but the token endpoint (the statement route for the statement-only kinds).
 */
export interface ScriptedFault {
  kind: FaultKind;
  route?: SimRoute;
  /** For `server_error`: the status to answer. Default 500. */
  status?: number;
  /** For `rate_limit`. Default `faults.retryAfterSeconds`. */
  retryAfterSeconds?: number;
  /** For `timeout`: what happens after the hang. Default `answer`. */
  afterHang?: 'answer' | 'drop';
}

export interface MomoSimulatorOptions {
  /** 0 picks a free port. Default 0. */
  port?: number;
  /** Default 127.0.0.1: the simulator never listens beyond loopback unless asked. */
  host?: string;
  apiUser: string;
  apiKey: string;
  subscriptionKey: string;
  /** Default `sandbox`. */
  targetEnvironment?: string;
  seed: string | number;
  /** Delay before every response. Default 0. */
  latencyMs?: number;
  /** Requests per second across all routes but the token endpoint; 0 or absent is unlimited. */
  rateLimitPerSecond?: number;
  /** Largest (and default) statement page. Default 100. */
  pageSize?: number;
  /** Lifetime of issued tokens. Default 3600. */
  tokenTtlSeconds?: number;
  faults?: Partial<FaultConfig>;
  /** The world's time: stamps, token expiry and the token bucket. Default the system clock. */
  clock?: () => Date;
}

export interface SimulatorStats {
  requests: Record<SimRoute | 'unknown', number>;
  /** Responses by HTTP status (dropped connections are not responses). */
  statuses: Record<string, number>;
  /** 429s from the token bucket (burst faults are counted under `faults`). */
  rateLimited: number;
  faults: Record<FaultKind, number>;
  tokensIssued: number;
}

export interface SimulatorCredentials {
  apiUser: string;
  apiKey: string;
  subscriptionKey: string;
  targetEnvironment: string;
}

/** A running simulator: its address, its world and the switches tests flip. */
export interface MomoSimulator {
  url: string;
  credentials: SimulatorCredentials;
  close(): Promise<void>;
  addWallet(spec?: WalletSpec): string;
  seedWallets(options: SeedWalletsOptions): string[];
  walletIds(): string[];
  truth(walletId: string): WalletTruth;
  /** The wallet's routes answer 403 `LINK_REVOKED` (or 401 `LINK_EXPIRED`) until restored. */
  revokeLink(walletId: string, reason?: 'revoked' | 'expired'): void;
  restoreLink(walletId: string): void;
  /** While on, every route answers 401 `INVALID_SUBSCRIPTION_KEY`. */
  setPlatformAuthFailure(on: boolean): void;
  setFaults(faults: Partial<FaultConfig>): void;
  injectFaults(...faults: ScriptedFault[]): void;
  /** Back to the fault rates the simulator started with, and no scripted faults. */
  resetFaults(): void;
  /** Forgets every issued token, as a provider-side rotation would. */
  expireTokens(): void;
  advance(options?: AdvanceOptions): AdvanceSummary;
  stats(): SimulatorStats;
  resetStats(): void;
}

const NO_FAULTS: FaultConfig = {
  serverErrorRate: 0,
  timeoutRate: 0,
  timeoutHangMs: 10_000,
  resetRate: 0,
  rateLimitBurstRate: 0,
  retryAfterSeconds: 1,
  duplicateAcrossPagesRate: 0,
  malformedPayloadRate: 0,
};

const STATEMENT_ONLY: ReadonlySet<FaultKind> = new Set([
  'duplicate_across_pages',
  'malformed_payload',
]);

/** An instant with an explicit offset; a local time without one would be ambiguous. */
const INSTANT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?(Z|[+-]\d{2}:\d{2})$/;
const MAX_LIMIT = 1000;

interface RouteMatch {
  route: SimRoute;
  params: string[];
}

const ROUTES: ReadonlyArray<{ method: string; pattern: RegExp; route: SimRoute }> = [
  { method: 'POST', pattern: /^\/collection\/token\/?$/, route: 'token' },
  { method: 'GET', pattern: /^\/collection\/v1_0\/account\/balance$/, route: 'balance' },
  {
    method: 'GET',
    pattern: /^\/collection\/v1_0\/accountholder\/([^/]+)\/([^/]+)\/active$/,
    route: 'accountholder',
  },
  {
    method: 'GET',
    pattern: /^\/collection\/v1_0\/wallets\/([^/]+)\/statement$/,
    route: 'statement',
  },
];

/** A response to write; thrown by the route checks to answer early. */
class Reply {
  constructor(
    readonly status: number,
    readonly body: unknown,
    readonly headers: Record<string, string> = {},
  ) {}
}

function mtnError(status: number, code: string, message: string): Reply {
  return new Reply(status, { code, message });
}

/** Token bucket over the world clock: `rate` per second, bursts up to `rate`. */
class TokenBucket {
  private tokens: number;
  private last: number;
  private readonly capacity: number;

  constructor(
    private readonly rate: number,
    now: number,
  ) {
    this.capacity = Math.max(1, rate);
    this.tokens = this.capacity;
    this.last = now;
  }

  /** Takes one token, or returns the whole seconds until one is due. */
  take(now: number): number | undefined {
    this.tokens = Math.min(
      this.capacity,
      this.tokens + (Math.max(0, now - this.last) * this.rate) / 1000,
    );
    this.last = now;
    if (this.tokens >= 1) {
      this.tokens -= 1;
      return undefined;
    }
    return Math.max(1, Math.ceil((1 - this.tokens) / this.rate));
  }
}

function emptyStats(): SimulatorStats {
  return {
    requests: { token: 0, balance: 0, accountholder: 0, statement: 0, unknown: 0 },
    statuses: {},
    rateLimited: 0,
    faults: {
      server_error: 0,
      timeout: 0,
      reset: 0,
      rate_limit: 0,
      duplicate_across_pages: 0,
      malformed_payload: 0,
    },
    tokensIssued: 0,
  };
}

function matchRoute(method: string | undefined, pathname: string): RouteMatch | undefined {
  for (const candidate of ROUTES) {
    if (candidate.method !== method) continue;
    const match = candidate.pattern.exec(pathname);
    if (match) return { route: candidate.route, params: match.slice(1).map(decodeURIComponent) };
  }
  return undefined;
}

function encodePageToken(walletId: string, from: number, to: number, key: StatementKey): string {
  const state = { w: walletId, f: from, t: to, u: key.updatedAt, i: key.financialTransactionId };
  return Buffer.from(JSON.stringify(state)).toString('base64url');
}

function decodePageToken(token: string, walletId: string, from: number, to: number): StatementKey {
  try {
    const state = JSON.parse(Buffer.from(token, 'base64url').toString('utf8'));
    if (state.w === walletId && state.f === from && state.t === to) {
      if (typeof state.u === 'number' && typeof state.i === 'string') {
        return { updatedAt: state.u, financialTransactionId: state.i };
      }
    }
  } catch {
    // Falls through to the same answer as a token for another query.
  }
  throw mtnError(400, 'INVALID_PARAMETER', 'pageToken does not belong to this query.');
}

function parseInstant(name: string, value: string | null): number {
  if (value === null || !INSTANT.test(value) || Number.isNaN(Date.parse(value))) {
    throw mtnError(400, 'INVALID_PARAMETER', `${name} must be an ISO-8601 instant with an offset.`);
  }
  return Date.parse(value);
}

/** Starts a simulator on loopback; resolves once it listens. */
export async function startMomoSimulator(options: MomoSimulatorOptions): Promise<MomoSimulator> {
  const clock = options.clock ?? (() => new Date());
  const host = options.host ?? '127.0.0.1';
  const targetEnvironment = options.targetEnvironment ?? 'sandbox';
  const pageSize = options.pageSize ?? 100;
  const tokenTtlSeconds = options.tokenTtlSeconds ?? 3600;
  const world = new MomoWorld(options.seed, clock);
  const faultRandom: Random = createRandom(options.seed, 'faults');
  const platformBalanceMinor = createRandom(options.seed, 'platform').int(100_000, 99_999_999);
  const bucket =
    options.rateLimitPerSecond && options.rateLimitPerSecond > 0
      ? new TokenBucket(options.rateLimitPerSecond, clock().getTime())
      : undefined;
  const tokens = new Map<string, number>();
  const scripted: ScriptedFault[] = [];
  const timers = new Set<NodeJS.Timeout>();
  let faults: FaultConfig = { ...NO_FAULTS, ...options.faults };
  let platformAuthFailure = false;
  let stats = emptyStats();
  const expectedBasic = `Basic ${Buffer.from(`${options.apiUser}:${options.apiKey}`).toString('base64')}`;

  const delay = (ms: number): Promise<void> =>
    new Promise((resolve) => {
      if (ms <= 0) return resolve();
      const timer = setTimeout(() => {
        timers.delete(timer);
        resolve();
      }, ms);
      timers.add(timer);
    });

  const takeScripted = (
    route: SimRoute,
    kinds?: ReadonlySet<FaultKind>,
  ): ScriptedFault | undefined => {
    const index = scripted.findIndex((fault) => {
      if (kinds && !kinds.has(fault.kind)) return false;
      if (!kinds && STATEMENT_ONLY.has(fault.kind)) return false;
      if (fault.route) return fault.route === route;
      return STATEMENT_ONLY.has(fault.kind) ? route === 'statement' : route !== 'token';
    });
    return index === -1 ? undefined : scripted.splice(index, 1)[0];
  };

  /** The transport fault for this request, scripted first, then drawn (never on /token). */
  const transportFault = (route: SimRoute): ScriptedFault | undefined => {
    const planned = takeScripted(route);
    if (planned || route === 'token') return planned;
    if (faultRandom.chance(faults.resetRate)) return { kind: 'reset' };
    if (faultRandom.chance(faults.timeoutRate)) {
      return { kind: 'timeout', afterHang: faultRandom.chance(0.5) ? 'answer' : 'drop' };
    }
    if (faultRandom.chance(faults.serverErrorRate)) {
      return { kind: 'server_error', status: faultRandom.chance(0.5) ? 500 : 503 };
    }
    if (faultRandom.chance(faults.rateLimitBurstRate)) return { kind: 'rate_limit' };
    return undefined;
  };

  const statementFault = (kind: FaultKind, rate: number): boolean => {
    if (takeScripted('statement', new Set([kind]))) return true;
    return faultRandom.chance(rate);
  };

  const authorize = (request: IncomingMessage): void => {
    const header = request.headers.authorization ?? '';
    const token = header.startsWith('Bearer ') ? header.slice('Bearer '.length) : '';
    const expiresAt = tokens.get(token);
    if (expiresAt === undefined || expiresAt <= clock().getTime()) {
      throw mtnError(401, 'INVALID_TOKEN', 'Access token is missing, invalid or expired.');
    }
    if (request.headers['x-target-environment'] !== targetEnvironment) {
      // MTN answers a wrong target environment with a 500 and this code.
      throw mtnError(
        500,
        'NOT_ALLOWED_TARGET_ENVIRONMENT',
        'Access to target environment is forbidden.',
      );
    }
  };

  const issueToken = (request: IncomingMessage): Reply => {
    if (request.headers.authorization !== expectedBasic) {
      return new Reply(401, { error: 'login_failed' });
    }
    const token = randomBytes(24).toString('base64url');
    tokens.set(token, clock().getTime() + tokenTtlSeconds * 1000);
    stats.tokensIssued += 1;
    return new Reply(200, {
      access_token: token,
      token_type: 'access_token',
      expires_in: tokenTtlSeconds,
    });
  };

  const statement = (walletId: string, query: URLSearchParams): Reply => {
    if (!world.hasWallet(walletId)) {
      throw mtnError(404, 'RESOURCE_NOT_FOUND', 'Requested resource was not found.');
    }
    const link = world.link(walletId);
    if (link === 'expired') throw mtnError(401, 'LINK_EXPIRED', 'The wallet link has expired.');
    if (link === 'revoked') throw mtnError(403, 'LINK_REVOKED', 'The wallet link was revoked.');
    const from = parseInstant('from', query.get('from'));
    const to = parseInstant('to', query.get('to'));
    if (from >= to) throw mtnError(400, 'INVALID_PARAMETER', 'from must be before to.');
    const limitText = query.get('limit');
    const limit = limitText === null ? pageSize : Number(limitText);
    if (!Number.isInteger(limit) || limit < 1 || limit > MAX_LIMIT) {
      throw mtnError(400, 'INVALID_PARAMETER', `limit must be an integer from 1 to ${MAX_LIMIT}.`);
    }
    const pageToken = query.get('pageToken');
    const after = pageToken ? decodePageToken(pageToken, walletId, from, to) : undefined;
    const page = world.statement(walletId, from, to, after, Math.min(limit, pageSize));
    const currency = world.currency(walletId);
    let nextKey = page.more ? page.keys.at(-1) : undefined;
    if (
      nextKey &&
      page.keys.length >= 2 &&
      statementFault('duplicate_across_pages', faults.duplicateAcrossPagesRate)
    ) {
      stats.faults.duplicate_across_pages += 1;
      nextKey = page.keys.at(-2);
    }
    const body = {
      walletId,
      balance: {
        availableBalance: fromMinorUnits(world.balance(walletId), currency),
        currency,
      },
      transactions: page.entries,
      ...(nextKey ? { nextPageToken: encodePageToken(walletId, from, to, nextKey) } : {}),
    };
    if (statementFault('malformed_payload', faults.malformedPayloadRate)) {
      stats.faults.malformed_payload += 1;
      body.balance.availableBalance = '12,34';
    }
    return new Reply(200, body);
  };

  const accountHolder = (idType: string, id: string): Reply => {
    const type = idType.toLowerCase();
    if (type !== 'msisdn' && type !== 'email' && type !== 'party_code') {
      throw mtnError(
        400,
        'INVALID_PARAMETER',
        'accountHolderIdType must be msisdn, email or party_code.',
      );
    }
    return new Reply(200, { result: type === 'msisdn' && world.isHolder(id) });
  };

  const answer = (response: ServerResponse, result: Reply): void => {
    if (response.destroyed) return;
    stats.statuses[result.status] = (stats.statuses[result.status] ?? 0) + 1;
    response.writeHead(result.status, { 'content-type': 'application/json', ...result.headers });
    response.end(JSON.stringify(result.body));
  };

  const route = async (request: IncomingMessage): Promise<Reply | undefined> => {
    const url = new URL(request.url ?? '/', 'http://momo-sim');
    const match = matchRoute(request.method, url.pathname);
    stats.requests[match?.route ?? 'unknown'] += 1;
    await delay(options.latencyMs ?? 0);
    if (!match) return mtnError(404, 'RESOURCE_NOT_FOUND', 'Requested resource was not found.');
    if (
      platformAuthFailure ||
      request.headers['ocp-apim-subscription-key'] !== options.subscriptionKey
    ) {
      return mtnError(
        401,
        'INVALID_SUBSCRIPTION_KEY',
        'Access denied due to invalid subscription key.',
      );
    }
    if (bucket && match.route !== 'token') {
      const retryAfter = bucket.take(clock().getTime());
      if (retryAfter !== undefined) {
        stats.rateLimited += 1;
        return new Reply(
          429,
          { code: 'TOO_MANY_REQUESTS', message: 'Rate limit exceeded.' },
          { 'retry-after': String(retryAfter) },
        );
      }
    }
    const fault = transportFault(match.route);
    if (fault) {
      stats.faults[fault.kind] += 1;
      if (fault.kind === 'reset') {
        request.socket.destroy();
        return undefined;
      }
      if (fault.kind === 'timeout') {
        await delay(faults.timeoutHangMs);
        if (fault.afterHang === 'drop') {
          request.socket.destroy();
          return undefined;
        }
      }
      if (fault.kind === 'server_error') {
        const status = fault.status ?? 500;
        return status === 503
          ? mtnError(503, 'SERVICE_UNAVAILABLE', 'Service is temporarily unavailable.')
          : mtnError(status, 'INTERNAL_PROCESSING_ERROR', 'An internal error occurred.');
      }
      if (fault.kind === 'rate_limit') {
        return new Reply(
          429,
          { code: 'TOO_MANY_REQUESTS', message: 'Rate limit exceeded.' },
          { 'retry-after': String(fault.retryAfterSeconds ?? faults.retryAfterSeconds) },
        );
      }
    }
    if (match.route === 'token') return issueToken(request);
    authorize(request);
    if (match.route === 'balance') {
      return new Reply(200, {
        availableBalance: fromMinorUnits(platformBalanceMinor, 'EUR'),
        currency: 'EUR',
      });
    }
    const [first = '', second = ''] = match.params;
    if (match.route === 'accountholder') return accountHolder(first, second);
    return statement(first, url.searchParams);
  };

  const server = createServer((request, response) => {
    // The body is never needed (the token endpoint takes none); drain it so keep-alive works.
    request.resume();
    route(request).then(
      (result) => result && answer(response, result),
      (error: unknown) => {
        answer(
          response,
          error instanceof Reply
            ? error
            : mtnError(500, 'INTERNAL_PROCESSING_ERROR', 'An internal error occurred.'),
        );
      },
    );
  });

  const port = await listen(server, options.port ?? 0, host);
  const urlHost = host.includes(':') ? `[${host}]` : host;

  return {
    url: `http://${urlHost}:${port}`,
    credentials: {
      apiUser: options.apiUser,
      apiKey: options.apiKey,
      subscriptionKey: options.subscriptionKey,
      targetEnvironment,
    },
    close: () => {
      for (const timer of timers) clearTimeout(timer);
      timers.clear();
      return closeServer(server);
    },
    addWallet: (spec) => world.addWallet(spec),
    seedWallets: (seedOptions) => world.seedWallets(seedOptions),
    walletIds: () => world.walletIds(),
    truth: (walletId) => world.truth(walletId),
    revokeLink: (walletId, reason = 'revoked') => world.setLink(walletId, reason),
    restoreLink: (walletId) => world.setLink(walletId, 'active'),
    setPlatformAuthFailure: (on) => {
      platformAuthFailure = on;
    },
    setFaults: (changes) => {
      faults = { ...faults, ...changes };
    },
    injectFaults: (...planned) => {
      scripted.push(...planned);
    },
    resetFaults: () => {
      faults = { ...NO_FAULTS, ...options.faults };
      scripted.length = 0;
    },
    expireTokens: () => tokens.clear(),
    advance: (advanceOptions) => world.advance(advanceOptions),
    stats: () => structuredClone(stats),
    resetStats: () => {
      stats = emptyStats();
    },
  };
}
