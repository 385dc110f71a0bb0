/**
 * What a status indicator and a "Sync now" button show for an account: a pure function of the
 * account's sync fields and the time, so the app can re-render it every minute without a call.
 */
import type { Account } from './types';

export type SyncTone = 'ok' | 'warning' | 'error' | 'busy';

/** `sync`: offer "Sync now". `relink`: offer the re-link flow. `wait`: show the button disabled. */
export type SyncAction = 'sync' | 'relink' | 'wait' | null;

export interface SyncStateView {
  label: string;
  tone: SyncTone;
  action: SyncAction;
  /** While `action` is `wait` for the manual-sync interval: when "Sync now" comes back. */
  disabledUntil?: string;
}

/** A synced account older than this is shown as stale. */
export const STALE_AFTER_MS = 48 * 60 * 60 * 1000;

const MINUTE = 60_000;
const HOUR = 60 * MINUTE;
const DAY = 24 * HOUR;

/** "just now", "5 min ago", "3 h ago", "yesterday", "4 days ago". */
export function relativeTime(iso: string, now: Date): string {
  const elapsed = now.getTime() - Date.parse(iso);
  // A time slightly ahead of the device clock is still "just now".
  if (elapsed < MINUTE) return 'just now';
  if (elapsed < HOUR) return `${Math.floor(elapsed / MINUTE)} min ago`;
  if (elapsed < DAY) return `${Math.floor(elapsed / HOUR)} h ago`;
  if (elapsed < 2 * DAY) return 'yesterday';
  return `${Math.floor(elapsed / DAY)} days ago`;
}

type SyncFields = Pick<Account, 'sync_status' | 'last_synced_at' | 'syncing' | 'actions'>;

/** The indicator and button state for an account at `now`. */
export function describeSyncState(account: SyncFields, now: Date): SyncStateView {
  if (account.sync_status === 'auth_required') {
    return { label: 'Re-link needed', tone: 'error', action: 'relink' };
  }
  if (account.syncing) return { label: 'Syncing…', tone: 'busy', action: 'wait' };

  const synced = account.last_synced_at;
  const failing = account.sync_status === 'error';
  let label: string;
  let tone: SyncTone;
  if (failing) {
    label = synced ? `Sync failing · last synced ${relativeTime(synced, now)}` : 'Sync failing';
    tone = 'warning';
  } else if (synced === null) {
    label = 'Not synced yet';
    tone = 'warning';
  } else {
    label = `Synced ${relativeTime(synced, now)}`;
    tone = now.getTime() - Date.parse(synced) > STALE_AFTER_MS ? 'warning' : 'ok';
  }

  // The server's answer may be minutes old by now: the interval is judged against `now`.
  const availableAt = account.actions.sync_available_at;
  if (availableAt !== null && Date.parse(availableAt) > now.getTime()) {
    return { label, tone, action: 'wait', disabledUntil: availableAt };
  }
  return { label, tone, action: 'sync' };
}
