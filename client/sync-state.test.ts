import { describe, expect, it } from 'vitest';
import { describeSyncState, relativeTime } from './sync-state';
import type { Account } from './types';

const NOW = new Date('2026-03-02T12:00:00.000Z');

function account(overrides: Partial<Account> = {}): Account {
  return {
    id: 'acc-1',
    name: 'Household wallet',
    type: 'momo_wallet',
    currency: 'GHS',
    balance_minor: 1_000,
    sync_status: 'active',
    last_synced_at: '2026-03-02T11:55:00.000Z',
    last_sync_attempt: '2026-03-02T11:55:00.000Z',
    last_error_code: null,
    syncing: false,
    next_sync_at: '2026-03-03T11:55:00.000Z',
    settings: { sync_interval_minutes: null, relink_pushes: true },
    actions: { sync: true, relink: false, sync_available_at: null },
    ...overrides,
  };
}

describe('describeSyncState', () => {
  it.each([
    {
      state: 'a healthy account synced minutes ago',
      overrides: {},
      expected: { label: 'Synced 5 min ago', tone: 'ok', action: 'sync' },
    },
    {
      state: 'an account that needs a re-link',
      overrides: { sync_status: 'auth_required' as const, syncing: true },
      expected: { label: 'Re-link needed', tone: 'error', action: 'relink' },
    },
    {
      state: 'an account being synced',
      overrides: { syncing: true },
      expected: { label: 'Syncing…', tone: 'busy', action: 'wait' },
    },
    {
      state: 'an account whose syncs fail',
      overrides: { sync_status: 'error' as const, last_synced_at: '2026-03-02T09:00:00.000Z' },
      expected: { label: 'Sync failing · last synced 3 h ago', tone: 'warning', action: 'sync' },
    },
    {
      state: 'a failing account never synced',
      overrides: { sync_status: 'error' as const, last_synced_at: null },
      expected: { label: 'Sync failing', tone: 'warning', action: 'sync' },
    },
    {
      state: 'a new account',
      overrides: { last_synced_at: null },
      expected: { label: 'Not synced yet', tone: 'warning', action: 'sync' },
    },
    {
      state: 'an account last synced three days ago',
      overrides: { last_synced_at: '2026-02-27T12:00:00.000Z' },
      expected: { label: 'Synced 3 days ago', tone: 'warning', action: 'sync' },
    },
    {
      state: 'an account within its manual-sync interval',
      overrides: {
        actions: { sync: false, relink: false, sync_available_at: '2026-03-02T12:03:00.000Z' },
      },
      expected: {
        label: 'Synced 5 min ago',
        tone: 'ok',
        action: 'wait',
        disabledUntil: '2026-03-02T12:03:00.000Z',
      },
    },
    {
      state: 'an account whose interval ended since the server answered',
      overrides: {
        actions: { sync: false, relink: false, sync_available_at: '2026-03-02T11:59:00.000Z' },
      },
      expected: { label: 'Synced 5 min ago', tone: 'ok', action: 'sync' },
    },
  ])('shows $state', ({ overrides, expected }) => {
    expect(describeSyncState(account(overrides), NOW)).toEqual(expected);
  });
});

describe('relativeTime', () => {
  it.each([
    ['2026-03-02T12:00:30.000Z', 'just now'],
    ['2026-03-02T11:59:30.000Z', 'just now'],
    ['2026-03-02T11:59:00.000Z', '1 min ago'],
    ['2026-03-02T11:00:01.000Z', '59 min ago'],
    ['2026-03-02T11:00:00.000Z', '1 h ago'],
    ['2026-03-01T12:00:01.000Z', '23 h ago'],
    ['2026-03-01T12:00:00.000Z', 'yesterday'],
    ['2026-02-28T12:00:00.000Z', '2 days ago'],
  ])('describes %s as "%s"', (iso, expected) => {
    expect(relativeTime(iso, NOW)).toBe(expected);
  });
});
