/**
 * The provider circuit. A platform auth failure (our own MoMo credentials rejected) says nothing
 * about any one wallet, so instead of letting every consumer hammer the token endpoint and fail
 * every message, the first failure opens a circuit shared by the fleet: the fan-out queues
 * nothing, consumers hand their records back untouched until the reopen time, then one consumer
 * probes with a single sync and closes the circuit when it proves the credentials work again.
 *
 * The rules are pure functions of the stored state; {@link ProviderCircuit} applies them through
 * a compare-and-set store so that concurrent consumers agree on who opens and who probes.
 */
import type { SyncOutcome } from './model';
import type { Clock } from './ports';

export type CircuitStatus = 'closed' | 'open' | 'half_open';

/** The fleet-wide circuit as stored (one item). */
export interface CircuitState {
  status: CircuitStatus;
  /** Bumped by every write: the compare-and-set token. 0 means never written. */
  version: number;
  /** Opens since the circuit was last closed; each one doubles the wait before a probe. */
  trips: number;
  openedAt?: string;
  /** When a probe may go through. */
  reopenAt?: string;
  /** The consumer running the probe while half open, and until when its claim holds. */
  probeOwner?: string;
  probeExpiresAt?: string;
  /** Sanitised code of the failure that opened the circuit. */
  reason?: string;
  closedAt?: string;
}

/** A circuit that was never opened. */
export const INITIAL_CIRCUIT: CircuitState = { status: 'closed', version: 0, trips: 0 };

export interface CircuitConfig {
  /** Wait before the first probe after the circuit opens. */
  openMs: number;
  /** Cap of the doubling wait. */
  maxOpenMs: number;
  /** How long a probe claim holds; at least one consumer invocation. */
  probeLeaseMs: number;
  /** How long a consumer trusts the state it read before reading again. */
  cacheMs: number;
}

export const DEFAULT_CIRCUIT_CONFIG: CircuitConfig = {
  // Credentials are fixed by a person: probing every few minutes costs one token call and keeps
  // the fleet's wait after the fix short, and the doubling keeps a long outage from spending the
  // queues' five receives too fast (5 + 10 + 20 + 40 + 60 minutes before a message reaches a DLQ).
  openMs: 5 * 60_000,
  maxOpenMs: 60 * 60_000,
  probeLeaseMs: 2 * 60_000,
  cacheMs: 5_000,
};

/** What a consumer may do now. */
export type Admission =
  | { mode: 'pass' }
  /** The circuit is due for a probe: the caller may try to claim it. */
  | { mode: 'probe' }
  /** Do not call the provider; hand the work back until `until`. */
  | { mode: 'hold'; until: string };

/** What the stored state allows at `now`. */
export function admission(state: CircuitState, now: Date): Admission {
  if (state.status === 'closed') return { mode: 'pass' };
  const t = now.getTime();
  if (state.status === 'open') {
    const reopenAt = state.reopenAt ?? now.toISOString();
    return Date.parse(reopenAt) > t ? { mode: 'hold', until: reopenAt } : { mode: 'probe' };
  }
  // Half open: someone probes; a claim that outlived its lease belongs to a crashed consumer.
  const expires = state.probeExpiresAt ?? now.toISOString();
  return Date.parse(expires) > t ? { mode: 'hold', until: expires } : { mode: 'probe' };
}

/** Whether the fleet may call the provider at all (the fan-out's question). */
export function isClosed(state: CircuitState): boolean {
  return state.status === 'closed';
}

/** SQS's largest message delay. */
const MAX_DELAY_SECONDS = 900;

/**
 * How many seconds the fan-out should put a task off, or undefined when it may queue syncs. A
 * circuit due for a probe lets the fan-out through: consumers only probe when they have records,
 * so holding the fan-out back then could keep the circuit open for good.
 */
export function fanOutDelaySeconds(state: CircuitState, now: Date): number | undefined {
  const decision = admission(state, now);
  if (decision.mode !== 'hold') return undefined;
  const seconds = Math.ceil((Date.parse(decision.until) - now.getTime()) / 1000);
  return Math.min(MAX_DELAY_SECONDS, Math.max(1, seconds));
}

/**
 * The state after a platform auth failure, or `undefined` when it changes nothing: a circuit
 * already open and not yet due for a probe stays as it is, so that a crowd of consumers failing
 * together opens it once instead of pushing the reopen time out with every failure.
 */
export function afterPlatformFailure(
  state: CircuitState,
  now: Date,
  reason: string,
  config: CircuitConfig,
): CircuitState | undefined {
  if (state.status === 'open' && Date.parse(state.reopenAt ?? '') > now.getTime()) {
    return undefined;
  }
  const trips = state.status === 'closed' ? 1 : state.trips + 1;
  const wait = Math.min(config.maxOpenMs, config.openMs * 2 ** Math.min(trips - 1, 20));
  return {
    status: 'open',
    version: state.version + 1,
    trips,
    openedAt: state.status === 'closed' ? now.toISOString() : (state.openedAt ?? now.toISOString()),
    reopenAt: new Date(now.getTime() + wait).toISOString(),
    reason,
  };
}

/** The state once `owner` claimed the probe. */
export function withProbe(
  state: CircuitState,
  owner: string,
  now: Date,
  config: CircuitConfig,
): CircuitState {
  return {
    ...state,
    status: 'half_open',
    version: state.version + 1,
    probeOwner: owner,
    probeExpiresAt: new Date(now.getTime() + config.probeLeaseMs).toISOString(),
  };
}

/** The state after a good probe. */
export function closedAfterProbe(state: CircuitState, now: Date): CircuitState {
  return { status: 'closed', version: state.version + 1, trips: 0, closedAt: now.toISOString() };
}

/**
 * The state after a probe that proved nothing (the account was busy, the provider was slow):
 * open again and due at once, without a trip, so the next consumer can probe with another account.
 */
export function releasedProbe(state: CircuitState, now: Date): CircuitState {
  const { probeOwner: _owner, probeExpiresAt: _expires, ...rest } = state;
  return { ...rest, status: 'open', version: state.version + 1, reopenAt: now.toISOString() };
}

/**
 * Whether a sync outcome proves that the platform credentials work: anything past the token
 * endpoint does (a wallet's own 401 or 404 included); a skip, a 5xx or a 429 proves nothing.
 */
export function probeVerdict(outcome: SyncOutcome): 'good' | 'inconclusive' {
  switch (outcome) {
    case 'synced':
    case 'partial':
    case 'auth_required':
    case 'permanent_error':
      return 'good';
    default:
      return 'inconclusive';
  }
}

/** Where the circuit is stored: one item, replaced only by compare-and-set on its version. */
export interface CircuitStore {
  /** The stored state, {@link INITIAL_CIRCUIT} when there is none; always the latest write. */
  read(): Promise<CircuitState>;
  /** Writes `next` only if the stored version is still `expectedVersion`; false otherwise. */
  replace(next: CircuitState, expectedVersion: number): Promise<boolean>;
}

/** The per-batch view a consumer works through; see {@link ProviderCircuit.forBatch}. */
export interface BatchGate {
  /** True while this batch holds the probe claim. */
  readonly probing: boolean;
  /** Whether the next record may call the provider, or until when to hand it back. */
  next(): { proceed: true } | { proceed: false; retryAt: Date };
  /** Reports the outcome of a record that proceeded. */
  completed(outcome: SyncOutcome): Promise<void>;
  /** Reports a platform auth failure of a record that proceeded: opens the circuit. */
  platformFailure(reason: string): Promise<void>;
  /** Ends the batch; gives back a probe claim that proved nothing. */
  finish(): Promise<void>;
  /** Whether the circuit is open or half open as this batch last saw it (metric CircuitOpen). */
  isOpen(): boolean;
}

/**
 * The circuit as one consumer container sees it: the state is read at most once per
 * `cacheMs`, and every transition is a compare-and-set, so two consumers never both probe and a
 * failure storm opens the circuit once.
 */
export class ProviderCircuit {
  private cached: { state: CircuitState; readAt: number } | undefined;

  constructor(
    private readonly store: CircuitStore,
    private readonly clock: Clock,
    private readonly config: CircuitConfig = DEFAULT_CIRCUIT_CONFIG,
  ) {}

  /** The current state, from the container's cache when fresh enough. */
  async state(): Promise<CircuitState> {
    const now = this.clock.now().getTime();
    if (this.cached && now - this.cached.readAt < this.config.cacheMs) return this.cached.state;
    return this.refresh();
  }

  /** Forgets the cached state (tests, and after a lost compare-and-set). */
  async refresh(): Promise<CircuitState> {
    const state = await this.store.read();
    this.remember(state);
    return state;
  }

  /** The admission for a batch, claiming the probe when one is due. */
  async admit(owner: string): Promise<Admission> {
    const state = await this.state();
    const decision = admission(state, this.clock.now());
    if (decision.mode !== 'probe') return decision;
    return this.claimProbe(state, owner);
  }

  /** Opens the circuit after a platform auth failure (a no-op when it is already open). */
  async recordPlatformFailure(reason: string): Promise<CircuitState> {
    let state = await this.refresh();
    // A lost race means another consumer changed the state: decide again on what it wrote.
    for (let attempt = 0; attempt < 3; attempt += 1) {
      const next = afterPlatformFailure(state, this.clock.now(), reason, this.config);
      if (next === undefined) return state;
      if (await this.store.replace(next, state.version)) {
        this.remember(next);
        return next;
      }
      state = await this.refresh();
    }
    return state;
  }

  /** Ends the probe of `owner`: closes the circuit on a good outcome, releases it otherwise. */
  async recordProbe(owner: string, verdict: 'good' | 'inconclusive'): Promise<void> {
    const state = await this.refresh();
    // Only the claim holder may settle the probe; anything else was decided by someone newer.
    if (state.status !== 'half_open' || state.probeOwner !== owner) return;
    const now = this.clock.now();
    const next = verdict === 'good' ? closedAfterProbe(state, now) : releasedProbe(state, now);
    if (await this.store.replace(next, state.version)) this.remember(next);
    else await this.refresh();
  }

  /** A gate for one batch: admit once, then follow the batch record by record. */
  async forBatch(owner: string): Promise<BatchGate> {
    return new Gate(this, owner, await this.admit(owner), this.clock);
  }

  private async claimProbe(state: CircuitState, owner: string): Promise<Admission> {
    const now = this.clock.now();
    const next = withProbe(state, owner, now, this.config);
    if (await this.store.replace(next, state.version)) {
      this.remember(next);
      return { mode: 'probe' };
    }
    // Someone else claimed it (or closed it) first.
    const latest = await this.refresh();
    const decision = admission(latest, now);
    return decision.mode === 'probe'
      ? { mode: 'hold', until: new Date(now.getTime() + this.config.cacheMs).toISOString() }
      : decision;
  }

  /** How long a container trusts a state it read. */
  get cacheMs(): number {
    return this.config.cacheMs;
  }

  private remember(state: CircuitState): void {
    this.cached = { state, readAt: this.clock.now().getTime() };
  }

  /** @internal the state this container saw last, without a read. */
  lastSeen(): CircuitState | undefined {
    return this.cached?.state;
  }
}

class Gate implements BatchGate {
  constructor(
    private readonly circuit: ProviderCircuit,
    private readonly owner: string,
    private current: Admission,
    private readonly clock: Clock,
  ) {}

  get probing(): boolean {
    return this.current.mode === 'probe';
  }

  next(): { proceed: true } | { proceed: false; retryAt: Date } {
    if (this.current.mode === 'hold')
      return { proceed: false, retryAt: new Date(this.current.until) };
    return { proceed: true };
  }

  async completed(outcome: SyncOutcome): Promise<void> {
    if (this.current.mode !== 'probe') return;
    // Only a good outcome settles the probe; an inconclusive one lets the batch try its next
    // record.
    if (probeVerdict(outcome) === 'good') {
      await this.circuit.recordProbe(this.owner, 'good');
      this.current = { mode: 'pass' };
    }
  }

  async platformFailure(reason: string): Promise<void> {
    // The rest of the batch goes back whatever the store says, even when it cannot be written:
    // this batch just saw the failure.
    this.current = { mode: 'hold', until: this.soon() };
    const state = await this.circuit.recordPlatformFailure(reason);
    const decision = admission(state, this.clock.now());
    if (decision.mode === 'hold') this.current = decision;
  }

  async finish(): Promise<void> {
    if (this.current.mode === 'probe') {
      await this.circuit.recordProbe(this.owner, 'inconclusive');
      this.current = { mode: 'hold', until: this.soon() };
    }
  }

  isOpen(): boolean {
    const state = this.circuit.lastSeen();
    return state !== undefined && state.status !== 'closed';
  }

  private soon(): string {
    return new Date(this.clock.now().getTime() + this.circuit.cacheMs).toISOString();
  }
}
