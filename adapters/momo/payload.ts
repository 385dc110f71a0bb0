/**
 * Validation and normalisation of the MoMo bodies the client reads. Anything that does not match
 * docs/momo-provider-contract.md is a permanent failure: retrying would read the same bytes.
 */
import * as z from 'zod/mini';
import type { ProviderTransaction, StatementPage } from '../../core/model';
import { InvalidAmountError, maskParty, toMinorUnits } from '../../core/money';
import { invalidPayload } from './classify';

const text = z.string().check(z.minLength(1));
const currency = z.string().check(z.regex(/^[A-Z]{3}$/));
// An offset is required: a local time without one could be any of several instants.
const instant = z.iso.datetime({ offset: true });

const transactionSchema = z.object({
  financialTransactionId: text,
  externalId: z.nullish(z.string()),
  amount: z.string(),
  currency,
  direction: z.enum(['CREDIT', 'DEBIT']),
  status: z.enum(['PENDING', 'SUCCESSFUL', 'FAILED']),
  counterparty: z.object({
    partyIdType: z.enum(['MSISDN', 'EMAIL', 'PARTY_CODE']),
    partyId: text,
  }),
  description: z.nullish(z.string()),
  createdAt: instant,
  updatedAt: instant,
});

const statementSchema = z.object({
  walletId: text,
  balance: z.object({ availableBalance: z.string(), currency }),
  transactions: z.array(transactionSchema),
  nextPageToken: z.nullish(text),
});

const tokenSchema = z.object({
  access_token: text,
  expires_in: z.number().check(z.positive()),
});

type WireTransaction = z.infer<typeof transactionSchema>;

export interface IssuedToken {
  accessToken: string;
  expiresInSeconds: number;
}

/** Where validation failed, by path only: the offending value may be personal. */
function issuePath(error: z.core.$ZodError): string {
  const path = error.issues[0]?.path ?? [];
  return path.length > 0 ? path.join('.') : 'body';
}

function utc(value: string): string {
  return new Date(value).toISOString();
}

function minor(amount: string, code: string, where: string, status: number): number {
  try {
    return toMinorUnits(amount, code);
  } catch (error) {
    if (error instanceof InvalidAmountError) throw invalidPayload(status, where);
    throw error;
  }
}

function normaliseTransaction(
  wire: WireTransaction,
  index: number,
  status: number,
): ProviderTransaction {
  return {
    ref: wire.financialTransactionId,
    ...(wire.externalId ? { externalId: wire.externalId } : {}),
    amountMinor: minor(wire.amount, wire.currency, `transactions.${index}.amount`, status),
    currency: wire.currency,
    direction: wire.direction,
    status: wire.status,
    counterparty: maskParty(wire.counterparty.partyId),
    ...(wire.description ? { description: wire.description } : {}),
    createdAt: utc(wire.createdAt),
    updatedAt: utc(wire.updatedAt),
  };
}

/** Validates a statement body for `walletId` and turns it into the domain's page. */
export function parseStatement(body: unknown, walletId: string, status = 200): StatementPage {
  const parsed = z.safeParse(statementSchema, body);
  if (!parsed.success) throw invalidPayload(status, issuePath(parsed.error));
  const statement = parsed.data;
  // A page for another wallet would be written under this account: refuse it outright.
  if (statement.walletId !== walletId) throw invalidPayload(status, 'walletId');
  const { availableBalance, currency: balanceCurrency } = statement.balance;
  return {
    transactions: statement.transactions.map((wire, index) =>
      normaliseTransaction(wire, index, status),
    ),
    balance: {
      amountMinor: minor(availableBalance, balanceCurrency, 'balance.availableBalance', status),
      currency: balanceCurrency,
    },
    ...(statement.nextPageToken ? { nextPageToken: statement.nextPageToken } : {}),
  };
}

/** Validates the token endpoint's body. */
export function parseToken(body: unknown, status = 200): IssuedToken {
  const parsed = z.safeParse(tokenSchema, body);
  if (!parsed.success) throw invalidPayload(status, issuePath(parsed.error));
  return { accessToken: parsed.data.access_token, expiresInSeconds: parsed.data.expires_in };
}
