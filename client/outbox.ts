/**
 * An offline queue for "Sync now": a request made without a connection is kept, in storage the
 * app provides, and sent when the device is online again. One entry per account, so however
 * often the user taps while offline, the account gets one sync.
 */
import { type ApiError, isApiError, isNetworkError } from './errors';
import type { SyncRequest } from './types';

/** The storage the queue survives restarts in; AsyncStorage and localStorage wrappers fit. */
export interface KeyValueStorage {
  getItem(key: string): Promise<string | null>;
  setItem(key: string, value: string): Promise<void>;
}

/** Storage in memory, for tests and for apps that accept losing the queue on restart. */
export class MemoryStorage implements KeyValueStorage {
  private readonly items = new Map<string, string>();

  async getItem(key: string): Promise<string | null> {
    return this.items.get(key) ?? null;
  }

  async setItem(key: string, value: string): Promise<void> {
    this.items.set(key, value);
  }
}

/** Tells the queue when the device goes online or offline. */
export interface Connectivity {
  /** Calls `listener` on every change; returns the function that unsubscribes. */
  subscribe(listener: (online: boolean) => void): () => void;
}

export interface QueuedSync {
  accountId: string;
  queuedAt: string;
}

export type SyncAttempt =
  | { state: 'sent'; request: SyncRequest }
  /** Offline: kept, and sent when the device is online again. */
  | { state: 'queued'; queuedAt: string };

export interface FlushReport {
  sent: { accountId: string; request: SyncRequest }[];
  /** Entries the API refused for good (re-link needed, account gone, synced moments ago). */
  dropped: { accountId: string; error: ApiError }[];
  /** Entries still waiting: the connection dropped again, or the API failed for now. */
  remaining: QueuedSync[];
}

interface SyncSender {
  requestSync(accountId: string): Promise<SyncRequest>;
}

export interface SyncOutboxOptions {
  client: SyncSender;
  storage: KeyValueStorage;
  /** @default 'momo-sync/outbox' */
  storageKey?: string;
  now?: () => Date;
}

interface Stored {
  version: 1;
  items: QueuedSync[];
}

/** "Sync now" that works offline; see the module comment. */
export class SyncOutbox {
  private readonly key: string;
  private readonly now: () => Date;
  /** Storage updates run one after another, so two taps cannot both add an entry. */
  private lock: Promise<unknown> = Promise.resolve();
  private flushing?: Promise<FlushReport>;
  private readonly inFlight = new Map<string, Promise<SyncAttempt>>();

  constructor(private readonly options: SyncOutboxOptions) {
    this.key = options.storageKey ?? 'momo-sync/outbox';
    this.now = options.now ?? (() => new Date());
  }

  /**
   * Asks for a sync of the account: sent now when online, queued when not. An account already
   * queued is sent with the queue instead of a second time. API refusals (409 re-link, 429,
   * 404) are thrown as {@link ApiError}, as the client throws them.
   */
  requestSync(accountId: string): Promise<SyncAttempt> {
    const running = this.inFlight.get(accountId);
    if (running) return running;
    const attempt = this.attempt(accountId).finally(() => this.inFlight.delete(accountId));
    this.inFlight.set(accountId, attempt);
    return attempt;
  }

  /** The entries waiting to be sent, oldest first. */
  async pending(): Promise<QueuedSync[]> {
    return (await this.read()).items;
  }

  /** Sends every queued entry once; concurrent calls share one pass. */
  flush(): Promise<FlushReport> {
    this.flushing ??= this.flushOnce().finally(() => {
      this.flushing = undefined;
    });
    return this.flushing;
  }

  /** Flushes now and whenever `connectivity` reports the device online; returns the stop. */
  start(connectivity: Connectivity, onReport?: (report: FlushReport) => void): () => void {
    const run = () => {
      this.flush().then(onReport, () => undefined);
    };
    const unsubscribe = connectivity.subscribe((online) => {
      if (online) run();
    });
    run();
    return unsubscribe;
  }

  private async attempt(accountId: string): Promise<SyncAttempt> {
    if ((await this.pending()).some((item) => item.accountId === accountId)) {
      const report = await this.flush();
      const sent = report.sent.find((item) => item.accountId === accountId);
      if (sent) return { state: 'sent', request: sent.request };
      const dropped = report.dropped.find((item) => item.accountId === accountId);
      if (dropped) throw dropped.error;
      const kept = report.remaining.find((item) => item.accountId === accountId);
      return { state: 'queued', queuedAt: kept?.queuedAt ?? this.now().toISOString() };
    }
    try {
      return { state: 'sent', request: await this.options.client.requestSync(accountId) };
    } catch (error) {
      if (!isNetworkError(error)) throw error;
      return { state: 'queued', queuedAt: await this.enqueue(accountId) };
    }
  }

  private async flushOnce(): Promise<FlushReport> {
    const report: FlushReport = { sent: [], dropped: [], remaining: [] };
    const items = await this.pending();
    for (const [index, item] of items.entries()) {
      try {
        const request = await this.options.client.requestSync(item.accountId);
        report.sent.push({ accountId: item.accountId, request });
        await this.remove(item.accountId);
      } catch (error) {
        if (isNetworkError(error)) {
          // Offline again: keep this one and the rest for the next time.
          report.remaining.push(...items.slice(index));
          break;
        }
        if (isApiError(error) && isFinal(error)) {
          report.dropped.push({ accountId: item.accountId, error });
          await this.remove(item.accountId);
        } else {
          report.remaining.push(item);
        }
      }
    }
    return report;
  }

  /** Adds the account unless it is queued already; returns when it was queued. */
  private enqueue(accountId: string): Promise<string> {
    return this.update((items) => {
      const existing = items.find((item) => item.accountId === accountId);
      if (existing) return { items, result: existing.queuedAt };
      const queuedAt = this.now().toISOString();
      return { items: [...items, { accountId, queuedAt }], result: queuedAt };
    });
  }

  private remove(accountId: string): Promise<void> {
    return this.update((items) => ({
      items: items.filter((item) => item.accountId !== accountId),
      result: undefined,
    }));
  }

  private update<T>(change: (items: QueuedSync[]) => { items: QueuedSync[]; result: T }) {
    const next = this.lock.then(async () => {
      const { items, result } = change((await this.read()).items);
      const stored: Stored = { version: 1, items };
      await this.options.storage.setItem(this.key, JSON.stringify(stored));
      return result;
    });
    this.lock = next.catch(() => undefined);
    return next;
  }

  private async read(): Promise<Stored> {
    const text = await this.options.storage.getItem(this.key);
    if (text === null) return { version: 1, items: [] };
    try {
      const stored = JSON.parse(text) as Stored;
      return stored.version === 1 && Array.isArray(stored.items)
        ? stored
        : { version: 1, items: [] };
    } catch {
      // An unreadable queue is an empty one: the worst case is a sync the user taps again.
      return { version: 1, items: [] };
    }
  }
}

/**
 * Refusals that sending again cannot change: the account needs a re-link or is gone, or a sync
 * was queued moments ago (by another device, or before the connection dropped). A `conflict`
 * (the account kept changing under the request) asks to be sent again.
 */
function isFinal(error: ApiError): boolean {
  return (
    error.status >= 400 &&
    error.status < 500 &&
    error.code !== 'gateway' &&
    error.code !== 'conflict'
  );
}
