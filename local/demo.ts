/**
 * The demo world `npm start` shows: wallets in the MoMo simulator, some with a revoked or
 * expired link so the re-link path shows, and matching accounts owned by a few demo users.
 *
 * With `--data DIR` the tables outlive the process but the simulator does not, so the world's
 * seed and the instant it was generated at are kept in DIR: the simulator is rebuilt from them
 * with its clock set back to that instant, which regenerates the very same transactions, and
 * the accounts already stored keep matching their wallets.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { DynamoDBDocumentClient } from '@aws-sdk/lib-dynamodb';
import { DynamoAccountStore } from '../adapters/dynamodb/accounts';
import type { Account } from '../core/model';
import type { MomoSimulator } from './momo-sim';

/** The owners of the demo accounts, round robin: the subjects of local API tokens. */
export const DEMO_USERS = ['demo-ama', 'demo-kofi', 'demo-esi'] as const;

/** Every fourth wallet (the 4th, 8th, ...) has a broken link, alternately revoked and expired. */
const BROKEN_LINK_EVERY = 4;

/** The generated history of a demo wallet: how many transactions, over how many days. */
export const DEMO_HISTORY = { transactionsPerAccount: [5, 40] as [number, number], days: 30 };

export interface WorldState {
  seed: string;
  /** The simulator's clock at generation, epoch milliseconds. */
  epochMs: number;
}

export interface DemoAccount {
  accountId: string;
  ownerId: string;
  walletId: string;
  link: 'active' | 'revoked' | 'expired';
}

const WORLD_FILE = 'world.json';

/** The persisted world of a data directory, or a new one (written there when a dir is given). */
export async function loadWorldState(dataDir: string | undefined): Promise<WorldState> {
  if (dataDir) {
    try {
      const raw = JSON.parse(await readFile(join(dataDir, WORLD_FILE), 'utf8')) as WorldState;
      if (typeof raw.seed === 'string' && Number.isFinite(raw.epochMs)) return raw;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ENOENT') throw error;
    }
  }
  const state: WorldState = { seed: `demo-${randomUUID().slice(0, 8)}`, epochMs: Date.now() };
  if (dataDir) {
    await mkdir(dataDir, { recursive: true });
    await writeFile(join(dataDir, WORLD_FILE), `${JSON.stringify(state, null, 2)}\n`);
  }
  return state;
}

/**
 * The simulator's clock for a world: frozen at the world's instant while `freeze` is on (the
 * generation), then running on from there at the pace of the real clock.
 */
export function worldClock(state: WorldState): { clock: () => Date; unfreeze(): void } {
  let offset: number | undefined;
  return {
    clock: () => new Date(offset === undefined ? state.epochMs : Date.now() - offset),
    unfreeze() {
      offset ??= Date.now() - state.epochMs;
    },
  };
}

/**
 * Seeds `count` wallets in the simulator and their accounts in the table (existing ones kept).
 * Every `brokenLinkEvery`-th wallet gets a broken link; 0 leaves every link working (the
 * benchmark, and the chaos soak that breaks links itself).
 */
export async function seedDemo(
  simulator: MomoSimulator,
  doc: DynamoDBDocumentClient,
  accountsTable: string,
  count: number,
  now: Date = new Date(),
  transactionsPerAccount: [number, number] = DEMO_HISTORY.transactionsPerAccount,
  brokenLinkEvery: number = BROKEN_LINK_EVERY,
): Promise<DemoAccount[]> {
  const walletIds = simulator.seedWallets({
    count,
    transactionsPerAccount,
    historyDays: DEMO_HISTORY.days,
  });
  const store = new DynamoAccountStore(doc, accountsTable);
  const accounts: DemoAccount[] = [];
  let broken = 0;
  for (const [index, walletId] of walletIds.entries()) {
    let link: DemoAccount['link'] = 'active';
    if (brokenLinkEvery > 0 && (index + 1) % brokenLinkEvery === 0) {
      link = broken % 2 === 0 ? 'revoked' : 'expired';
      broken += 1;
      simulator.revokeLink(walletId, link);
    }
    const demo: DemoAccount = {
      accountId: `demo-${String(index + 1).padStart(4, '0')}`,
      ownerId: DEMO_USERS[index % DEMO_USERS.length]!,
      walletId,
      link,
    };
    accounts.push(demo);
    await store.create(newAccount(demo, simulator.truth(walletId).currency, index, now));
  }
  return accounts;
}

function newAccount(demo: DemoAccount, currency: string, index: number, now: Date): Account {
  const stamp = now.toISOString();
  return {
    accountId: demo.accountId,
    ownerId: demo.ownerId,
    name: `MoMo wallet ${index + 1}`,
    type: 'momo_wallet',
    walletId: demo.walletId,
    currency,
    syncStatus: 'active',
    consecutiveFailures: 0,
    // Linked a moment ago and never synced: due at once.
    dueAt: stamp,
    createdAt: stamp,
    updatedAt: stamp,
  };
}
