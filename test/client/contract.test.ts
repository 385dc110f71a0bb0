/**
 * The client's own copy of the wire types against the server's (core/api/contract.ts). These
 * are type assertions: `npm run typecheck`, the first step of `npm test`, fails when the two
 * drift apart; vitest runs them as no-ops.
 */
import { describe, expectTypeOf, it } from 'vitest';
import type * as app from '../../client/types';
import type * as server from '../../core/api/contract';

describe('client/types.ts', () => {
  it('matches the account the server writes', () => {
    expectTypeOf<app.Account>().toEqualTypeOf<server.AccountView>();
    expectTypeOf<app.AccountList>().toEqualTypeOf<server.AccountList>();
  });

  it('matches the pages of sync runs and transactions', () => {
    expectTypeOf<app.Page<app.SyncRun>>().toEqualTypeOf<server.Page<server.SyncRunView>>();
    expectTypeOf<app.Page<app.Transaction>>().toEqualTypeOf<server.Page<server.TransactionView>>();
  });

  it('matches the sync request, the re-link result and the bodies the client sends', () => {
    expectTypeOf<app.SyncRequest>().toEqualTypeOf<server.SyncRequestView>();
    expectTypeOf<app.RelinkResult>().toEqualTypeOf<server.RelinkView>();
    expectTypeOf<app.SettingsUpdate>().toEqualTypeOf<server.SettingsBody>();
  });

  it('knows every error code', () => {
    expectTypeOf<app.ErrorBody>().toEqualTypeOf<server.ErrorBody>();
  });
});
