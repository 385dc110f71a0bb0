import type { Account } from '../../core/model';
import type { RelinkAccounts } from '../../core/relink-push';
import type { DynamoAccountStore } from './accounts';

/** A lost race is re-read and tried again this many times before giving up. */
const MARK_ATTEMPTS = 3;

/**
 * The notifier's view of the accounts table, over {@link DynamoAccountStore}. The mark replaces
 * the `reauth` map as read, so its conditions pin every field of it that a sync or a re-link may
 * change meanwhile: the episode number, the absence of a mark, and whether it was closed.
 */
export class DynamoRelinkAccounts implements RelinkAccounts {
  constructor(private readonly store: DynamoAccountStore) {}

  get(accountId: string): Promise<Account | undefined> {
    // Consistent: the engine wrote the episode a moment before the message arrived.
    return this.store.get(accountId, true);
  }

  async markNotified(
    accountId: string,
    episode: number,
    result: 'sent' | 'no_recipients',
    at: string,
  ): Promise<boolean> {
    let account = await this.store.get(accountId, true);
    for (let attempt = 0; attempt < MARK_ATTEMPTS; attempt += 1) {
      const reauth = account?.reauth;
      if (reauth === undefined || reauth.episode !== episode || reauth.notifiedAt !== undefined) {
        return false;
      }
      const written = await this.store.update(
        accountId,
        { reauth: { ...reauth, notifiedAt: at, notifyResult: result } },
        [
          { path: 'reauth.episode', equals: episode },
          { path: 'reauth.notifiedAt', exists: false },
          { path: 'reauth.closedAt', exists: reauth.closedAt !== undefined },
        ],
      );
      if (written.updated) return true;
      account = written.account;
    }
    return false;
  }
}
