/**
 * The simulator's world: linked wallets and their transactions, generated and evolved from a seed.
 * Pure state and rules, no HTTP; the server in ./server renders it on the wire.
 */
import type { Direction, TransactionStatus } from '../../core/model';
import { currencyExponent, fromMinorUnits } from '../../core/money';
import { createRandom, type Random } from './random';

export type LinkState = 'active' | 'expired' | 'revoked';

/** An explicit transaction for {@link WalletSpec.transactions}. */
export interface TransactionSpec {
  financialTransactionId?: string;
  externalId?: string;
  amountMinor: number;
  direction: Direction;
  status: TransactionStatus;
  partyId?: string;
  description?: string;
  createdAt: Date | string;
  /** Defaults to `createdAt`. */
  updatedAt?: Date | string;
}

export interface WalletSpec {
  walletId?: string;
  /** Default `GHS`. */
  currency?: string;
  msisdn?: string;
  openingBalanceMinor?: number;
  /** Offset the statement writes this wallet's times in; defaults to the market's (XAF +01:00). */
  utcOffsetMinutes?: number;
  /** A number of generated transactions, or explicit ones. Default none. */
  transactions?: number | TransactionSpec[];
  /** How far back generated transactions go. Default 30. */
  historyDays?: number;
}

export interface SeedWalletsOptions {
  count: number;
  /** Inclusive range of generated transactions per wallet. */
  transactionsPerAccount: [number, number];
  currency?: string;
  historyDays?: number;
}

/** One round of the world's evolution; every rate is a probability in [0, 1]. */
export interface AdvanceOptions {
  /** Inclusive range of new transactions per wallet this round. Default [0, 2]. */
  newTransactions?: [number, number];
  /** Chance that each PENDING transaction settles (SUCCESSFUL or FAILED). Default 0.5. */
  statusChangeRate?: number;
  /** Chance per wallet of one late arrival: a new transaction stamped in the recent past. */
  lateArrivalRate?: number;
  /** How far in the past a late arrival may be stamped. Default 5 minutes. */
  lateArrivalMaxAgeMs?: number;
  /** Chance per wallet that one recent transaction disappears from its statements. */
  removalRate?: number;
  /** Only transactions created this recently may disappear. Default 15 minutes. */
  removalMaxAgeMs?: number;
  /** Restrict the round to these wallets. Default all. */
  walletIds?: string[];
}

export interface AdvanceSummary {
  created: number;
  statusChanged: number;
  lateArrivals: number;
  removed: number;
}

/** A transaction as the simulator knows it, removed ones included. Times are UTC ISO. */
export interface TruthTransaction {
  financialTransactionId: string;
  externalId?: string;
  amountMinor: number;
  amount: string;
  currency: string;
  direction: Direction;
  status: TransactionStatus;
  partyId: string;
  description?: string;
  createdAt: string;
  updatedAt: string;
  removed: boolean;
  removedAt?: string;
}

export interface WalletTruth {
  walletId: string;
  msisdn: string;
  currency: string;
  link: LinkState;
  balanceMinor: number;
  /** Ordered as statements order them: by `updatedAt`, then `financialTransactionId`. */
  transactions: TruthTransaction[];
}

/** A statement entry exactly as the wire carries it. */
export interface WireTransaction {
  financialTransactionId: string;
  externalId?: string;
  amount: string;
  currency: string;
  direction: Direction;
  status: TransactionStatus;
  counterparty: { partyIdType: 'MSISDN'; partyId: string };
  description?: string;
  createdAt: string;
  updatedAt: string;
}

/** Keyset position in a statement: the last entry a page handed out. */
export interface StatementKey {
  updatedAt: number;
  financialTransactionId: string;
}

interface SimTransaction {
  financialTransactionId: string;
  externalId?: string;
  amountMinor: number;
  direction: Direction;
  status: TransactionStatus;
  partyId: string;
  description?: string;
  createdAt: number;
  updatedAt: number;
  removedAt?: number;
}

interface SimWallet {
  walletId: string;
  msisdn: string;
  currency: string;
  utcOffsetMinutes: number;
  openingBalanceMinor: number;
  link: LinkState;
  random: Random;
  transactions: SimTransaction[];
}

interface Market {
  callingCode: string;
  utcOffsetMinutes: number;
  /** Typical small payment in major units, so amounts look plausible per currency. */
  scale: number;
}

const MARKETS: Readonly<Record<string, Market>> = {
  GHS: { callingCode: '233', utcOffsetMinutes: 0, scale: 1 },
  XOF: { callingCode: '225', utcOffsetMinutes: 0, scale: 500 },
  XAF: { callingCode: '237', utcOffsetMinutes: 60, scale: 500 },
  NGN: { callingCode: '234', utcOffsetMinutes: 60, scale: 1000 },
  UGX: { callingCode: '256', utcOffsetMinutes: 180, scale: 3000 },
  RWF: { callingCode: '250', utcOffsetMinutes: 120, scale: 1000 },
  ZMW: { callingCode: '260', utcOffsetMinutes: 120, scale: 10 },
  ZAR: { callingCode: '27', utcOffsetMinutes: 120, scale: 10 },
  SZL: { callingCode: '268', utcOffsetMinutes: 120, scale: 10 },
  GNF: { callingCode: '224', utcOffsetMinutes: 0, scale: 8000 },
  LRD: { callingCode: '231', utcOffsetMinutes: 0, scale: 100 },
  EUR: { callingCode: '46', utcOffsetMinutes: 60, scale: 1 },
};
const DEFAULT_MARKET: Market = { callingCode: '233', utcOffsetMinutes: 0, scale: 1 };

const DESCRIPTIONS: Readonly<Record<Direction, readonly string[]>> = {
  CREDIT: ['Transfer received', 'Cash in', 'Payment received', 'Salary'],
  DEBIT: ['Transfer', 'Merchant payment', 'Airtime', 'Bill payment', 'Cash out'],
};

const DAY_MS = 86_400_000;
const MINUTE_MS = 60_000;

function compareKeys(a: StatementKey, b: StatementKey): number {
  if (a.updatedAt !== b.updatedAt) return a.updatedAt - b.updatedAt;
  if (a.financialTransactionId === b.financialTransactionId) return 0;
  return a.financialTransactionId < b.financialTransactionId ? -1 : 1;
}

function toInstant(value: Date | string): number {
  const ms = value instanceof Date ? value.getTime() : Date.parse(value);
  if (Number.isNaN(ms)) throw new RangeError(`not a time: ${String(value)}`);
  return ms;
}

/** Writes an instant in a fixed offset with milliseconds, e.g. `2024-05-01T13:00:00.000+01:00`. */
export function formatWithOffset(ms: number, offsetMinutes: number): string {
  if (offsetMinutes === 0) return new Date(ms).toISOString();
  const local = new Date(ms + offsetMinutes * MINUTE_MS).toISOString().slice(0, -1);
  const magnitude = Math.abs(offsetMinutes);
  const hours = String(Math.floor(magnitude / 60)).padStart(2, '0');
  const minutes = String(magnitude % 60).padStart(2, '0');
  return `${local}${offsetMinutes < 0 ? '-' : '+'}${hours}:${minutes}`;
}

/** The wallets and their histories; every random choice comes from the seed. */
export class MomoWorld {
  private readonly wallets = new Map<string, SimWallet>();
  private readonly usedReferences = new Set<string>();

  constructor(
    private readonly seed: string | number,
    private readonly clock: () => Date,
  ) {}

  /** Adds one wallet; ids, numbers and generated history depend only on the seed and order. */
  addWallet(spec: WalletSpec = {}): string {
    const random = createRandom(this.seed, `wallet:${this.wallets.size}`);
    const currency = spec.currency ?? 'GHS';
    currencyExponent(currency);
    const market = MARKETS[currency] ?? DEFAULT_MARKET;
    const walletId = spec.walletId ?? this.uuid(random);
    if (this.wallets.has(walletId)) throw new RangeError(`wallet ${walletId} already exists`);
    const wallet: SimWallet = {
      walletId,
      msisdn: spec.msisdn ?? this.msisdn(random, market),
      currency,
      utcOffsetMinutes: spec.utcOffsetMinutes ?? market.utcOffsetMinutes,
      openingBalanceMinor:
        spec.openingBalanceMinor ??
        market.scale * 10 ** currencyExponent(currency) * random.int(500, 5000),
      link: 'active',
      random,
      transactions: [],
    };
    this.wallets.set(walletId, wallet);
    if (Array.isArray(spec.transactions)) {
      for (const transaction of spec.transactions) this.addExplicit(wallet, transaction);
    } else if (spec.transactions) {
      this.generateHistory(wallet, spec.transactions, spec.historyDays ?? 30);
    }
    return walletId;
  }

  /** Adds `count` generated wallets and returns their ids. */
  seedWallets(options: SeedWalletsOptions): string[] {
    const [min, max] = options.transactionsPerAccount;
    const ids: string[] = [];
    for (let index = 0; index < options.count; index += 1) {
      const count = createRandom(this.seed, `size:${this.wallets.size}`).int(min, max);
      ids.push(
        this.addWallet({
          currency: options.currency,
          transactions: count,
          historyDays: options.historyDays,
        }),
      );
    }
    return ids;
  }

  walletIds(): string[] {
    return [...this.wallets.keys()];
  }

  hasWallet(walletId: string): boolean {
    return this.wallets.has(walletId);
  }

  currency(walletId: string): string {
    return this.wallet(walletId).currency;
  }

  link(walletId: string): LinkState {
    return this.wallet(walletId).link;
  }

  setLink(walletId: string, state: LinkState): void {
    this.wallet(walletId).link = state;
  }

  /** Whether an MSISDN belongs to one of the wallets (MTN's account-holder check). */
  isHolder(msisdn: string): boolean {
    for (const wallet of this.wallets.values()) if (wallet.msisdn === msisdn) return true;
    return false;
  }

  truth(walletId: string): WalletTruth {
    const wallet = this.wallet(walletId);
    const transactions = [...wallet.transactions]
      .sort(compareKeys)
      .map((transaction): TruthTransaction => {
        const { createdAt, updatedAt, removedAt, ...rest } = transaction;
        return {
          ...rest,
          amount: fromMinorUnits(transaction.amountMinor, wallet.currency),
          currency: wallet.currency,
          createdAt: new Date(createdAt).toISOString(),
          updatedAt: new Date(updatedAt).toISOString(),
          removed: removedAt !== undefined,
          ...(removedAt === undefined ? {} : { removedAt: new Date(removedAt).toISOString() }),
        };
      });
    return {
      walletId,
      msisdn: wallet.msisdn,
      currency: wallet.currency,
      link: wallet.link,
      balanceMinor: this.balance(wallet),
      transactions,
    };
  }

  /** Current available balance as the wire writes it. */
  balance(walletOrId: SimWallet | string): number {
    const wallet = typeof walletOrId === 'string' ? this.wallet(walletOrId) : walletOrId;
    let balance = wallet.openingBalanceMinor;
    for (const transaction of wallet.transactions) {
      if (transaction.removedAt !== undefined || transaction.status !== 'SUCCESSFUL') continue;
      balance +=
        transaction.direction === 'CREDIT' ? transaction.amountMinor : -transaction.amountMinor;
    }
    return balance;
  }

  /**
   * The visible transactions with `updatedAt` in [from, to) after `after`, in statement order,
   * at most `limit` of them, and whether more follow.
   */
  statement(
    walletId: string,
    from: number,
    to: number,
    after: StatementKey | undefined,
    limit: number,
  ): { entries: WireTransaction[]; keys: StatementKey[]; more: boolean } {
    const wallet = this.wallet(walletId);
    const visible = wallet.transactions
      .filter(
        (transaction) =>
          transaction.removedAt === undefined &&
          transaction.updatedAt >= from &&
          transaction.updatedAt < to &&
          (after === undefined || compareKeys(transaction, after) > 0),
      )
      .sort(compareKeys);
    const page = visible.slice(0, limit);
    return {
      entries: page.map((transaction) => this.toWire(wallet, transaction)),
      keys: page.map(({ updatedAt, financialTransactionId }) => ({
        updatedAt,
        financialTransactionId,
      })),
      more: visible.length > limit,
    };
  }

  /** Evolves every wallet (or the listed ones) by one round, stamped at the clock's now. */
  advance(options: AdvanceOptions = {}): AdvanceSummary {
    const now = this.clock().getTime();
    const [minNew, maxNew] = options.newTransactions ?? [0, 2];
    const summary: AdvanceSummary = { created: 0, statusChanged: 0, lateArrivals: 0, removed: 0 };
    const ids = options.walletIds ?? this.walletIds();
    for (const walletId of ids) {
      const wallet = this.wallet(walletId);
      const { random } = wallet;
      // Settle before creating, so a transaction never appears and settles in the same round.
      for (const transaction of wallet.transactions) {
        if (transaction.status !== 'PENDING' || transaction.removedAt !== undefined) continue;
        if (!random.chance(options.statusChangeRate ?? 0.5)) continue;
        transaction.status = random.chance(0.85) ? 'SUCCESSFUL' : 'FAILED';
        transaction.updatedAt = now;
        summary.statusChanged += 1;
      }
      const count = random.int(minNew, maxNew);
      for (let index = 0; index < count; index += 1) {
        const status = random.chance(0.3)
          ? 'PENDING'
          : random.chance(0.95)
            ? 'SUCCESSFUL'
            : 'FAILED';
        this.generate(wallet, now, now, status);
        summary.created += 1;
      }
      if (random.chance(options.lateArrivalRate ?? 0)) {
        const stamped = now - random.int(1_000, options.lateArrivalMaxAgeMs ?? 5 * MINUTE_MS);
        this.generate(wallet, stamped, stamped, 'SUCCESSFUL');
        summary.lateArrivals += 1;
      }
      if (random.chance(options.removalRate ?? 0)) {
        if (this.removeRecent(wallet, now, options.removalMaxAgeMs ?? 15 * MINUTE_MS)) {
          summary.removed += 1;
        }
      }
    }
    return summary;
  }

  private wallet(walletId: string): SimWallet {
    const wallet = this.wallets.get(walletId);
    if (!wallet) throw new RangeError(`unknown wallet ${walletId}`);
    return wallet;
  }

  private removeRecent(wallet: SimWallet, now: number, maxAgeMs: number): boolean {
    const balance = this.balance(wallet);
    // A removed credit that was already spent would leave a negative balance; skip those.
    const candidates = wallet.transactions.filter(
      (transaction) =>
        transaction.removedAt === undefined &&
        transaction.createdAt >= now - maxAgeMs &&
        !(
          transaction.status === 'SUCCESSFUL' &&
          transaction.direction === 'CREDIT' &&
          transaction.amountMinor > balance
        ),
    );
    if (candidates.length === 0) return false;
    wallet.random.pick(candidates).removedAt = now;
    return true;
  }

  private generateHistory(wallet: SimWallet, count: number, historyDays: number): void {
    const now = this.clock().getTime();
    const { random } = wallet;
    const created = Array.from(
      { length: count },
      () => now - random.int(MINUTE_MS, historyDays * DAY_MS),
    );
    created.sort((a, b) => a - b);
    for (const createdAt of created) {
      const recent = now - createdAt < 2 * 60 * MINUTE_MS;
      const status: TransactionStatus =
        recent && random.chance(0.5) ? 'PENDING' : random.chance(0.92) ? 'SUCCESSFUL' : 'FAILED';
      const updatedAt =
        status === 'PENDING'
          ? createdAt
          : Math.min(createdAt + random.int(1_000, 120_000), now - 1);
      this.generate(wallet, createdAt, updatedAt, status);
    }
  }

  private generate(
    wallet: SimWallet,
    createdAt: number,
    updatedAt: number,
    status: TransactionStatus,
  ): void {
    const { random } = wallet;
    const market = MARKETS[wallet.currency] ?? DEFAULT_MARKET;
    const exponent = currencyExponent(wallet.currency);
    const major = Math.ceil(market.scale * 10 ** (random.next() * 3));
    const cents = exponent > 0 && random.chance(0.5) ? random.int(0, 10 ** exponent - 1) : 0;
    const amountMinor = major * 10 ** exponent + cents;
    let direction: Direction = random.chance(0.55) ? 'CREDIT' : 'DEBIT';
    // A wallet cannot spend money it does not have, pending debits included.
    if (direction === 'DEBIT' && amountMinor > this.spendable(wallet)) direction = 'CREDIT';
    const description = random.chance(0.8) ? random.pick(DESCRIPTIONS[direction]) : undefined;
    const externalId =
      direction === 'DEBIT' && random.chance(0.5)
        ? String(random.int(10_000_000, 99_999_999))
        : undefined;
    wallet.transactions.push({
      financialTransactionId: this.reference(random),
      ...(externalId === undefined ? {} : { externalId }),
      amountMinor,
      direction,
      status,
      partyId: this.msisdn(random, market),
      ...(description === undefined ? {} : { description }),
      createdAt,
      updatedAt,
    });
  }

  private addExplicit(wallet: SimWallet, spec: TransactionSpec): void {
    const reference = spec.financialTransactionId ?? this.reference(wallet.random);
    this.usedReferences.add(reference);
    const createdAt = toInstant(spec.createdAt);
    wallet.transactions.push({
      financialTransactionId: reference,
      ...(spec.externalId === undefined ? {} : { externalId: spec.externalId }),
      amountMinor: spec.amountMinor,
      direction: spec.direction,
      status: spec.status,
      partyId:
        spec.partyId ?? this.msisdn(wallet.random, MARKETS[wallet.currency] ?? DEFAULT_MARKET),
      ...(spec.description === undefined ? {} : { description: spec.description }),
      createdAt,
      updatedAt: spec.updatedAt === undefined ? createdAt : toInstant(spec.updatedAt),
    });
  }

  private spendable(wallet: SimWallet): number {
    let pendingDebits = 0;
    for (const transaction of wallet.transactions) {
      if (transaction.status === 'PENDING' && transaction.direction === 'DEBIT') {
        pendingDebits += transaction.amountMinor;
      }
    }
    return this.balance(wallet) - pendingDebits;
  }

  private toWire(wallet: SimWallet, transaction: SimTransaction): WireTransaction {
    return {
      financialTransactionId: transaction.financialTransactionId,
      ...(transaction.externalId === undefined ? {} : { externalId: transaction.externalId }),
      amount: fromMinorUnits(transaction.amountMinor, wallet.currency),
      currency: wallet.currency,
      direction: transaction.direction,
      status: transaction.status,
      counterparty: { partyIdType: 'MSISDN', partyId: transaction.partyId },
      ...(transaction.description === undefined ? {} : { description: transaction.description }),
      createdAt: formatWithOffset(transaction.createdAt, wallet.utcOffsetMinutes),
      updatedAt: formatWithOffset(transaction.updatedAt, wallet.utcOffsetMinutes),
    };
  }

  /** A nine-digit reference like MTN's, unique across the simulator. */
  private reference(random: Random): string {
    for (;;) {
      const reference = String(random.int(100_000_000, 999_999_999));
      if (!this.usedReferences.has(reference)) {
        this.usedReferences.add(reference);
        return reference;
      }
    }
  }

  private msisdn(random: Random, market: Market): string {
    const digits = 12 - market.callingCode.length;
    return market.callingCode + String(random.int(1, 9)) + this.digits(random, digits - 1);
  }

  private digits(random: Random, length: number): string {
    return Array.from({ length }, () => String(random.int(0, 9))).join('');
  }

  private uuid(random: Random): string {
    const hex = random.hex(32).split('');
    hex[12] = '4';
    hex[16] = '89ab'[random.int(0, 3)] as string;
    const text = hex.join('');
    return `${text.slice(0, 8)}-${text.slice(8, 12)}-${text.slice(12, 16)}-${text.slice(16, 20)}-${text.slice(20)}`;
  }
}
