/**
 * The local HTTP API as the app meets it: API Gateway's JWT authorizer in front of the real
 * handler on dynalite and local SQS. Token checks first, then what a hostile or careless
 * caller can send through HTTP.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Account } from '../../core/model';
import { type RunningLocalApi, startLocalApi } from '../../local/api';
import {
  generateIssuerKey,
  mintToken,
  readIssuerState,
  stateFileFor,
} from '../../local/jwt-issuer';
import { type ApiTestBed, startApiTestBed } from '../support/api';
import { accountFactory } from '../support/dynamo';
import { openApiChecker } from '../support/openapi';

let bed: ApiTestBed;
let local: RunningLocalApi;
let stateDir: string;
let invocations = 0;
const checker = openApiChecker();

beforeAll(async () => {
  bed = await startApiTestBed();
  stateDir = await mkdtemp(join(tmpdir(), 'momo-api-'));
  local = await startLocalApi({
    handler: (event, context) => {
      invocations += 1;
      return bed.handler(event, context);
    },
    port: 0,
    demoUsers: ['user-a', 'user-b'],
    stateFile: join(stateDir, 'issuer.json'),
  });
});

afterAll(async () => {
  await local?.close();
  await bed?.close();
  if (stateDir) await rm(stateDir, { recursive: true, force: true });
});

async function seed(overrides: Partial<Account> = {}): Promise<Account> {
  const account = accountFactory({ ownerId: 'user-a', ...overrides });
  await bed.accounts.create(account);
  return account;
}

interface HttpResult {
  status: number;
  headers: Headers;
  // biome-ignore lint/suspicious/noExplicitAny: read loosely here; the OpenAPI checker types it.
  body: any;
}

async function request(
  method: string,
  path: string,
  options: { token?: string; body?: string; headers?: Record<string, string> } = {},
): Promise<HttpResult> {
  const response = await fetch(`${local.url}${path}`, {
    method,
    headers: {
      ...(options.token !== undefined ? { authorization: `Bearer ${options.token}` } : {}),
      ...(options.body !== undefined ? { 'content-type': 'application/json' } : {}),
      ...options.headers,
    },
    body: options.body,
  });
  const text = await response.text();
  return {
    status: response.status,
    headers: response.headers,
    body: text ? JSON.parse(text) : undefined,
  };
}

function checked(method: string, template: string, result: HttpResult): HttpResult {
  const headers: Record<string, string> = {};
  result.headers.forEach((value, name) => {
    headers[name] = value;
  });
  checker.check(method, template, { statusCode: result.status, headers, body: result.body });
  return result;
}

const base64url = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Tokens the authorizer must refuse, each built the way an attacker or a bug would. */
const badTokens: { name: string; make: () => Promise<string | undefined>; reason: RegExp }[] = [
  { name: 'no token at all', make: async () => undefined, reason: /^Bearer$/ },
  {
    name: 'an expired token',
    make: () => local.mint({ sub: 'user-a', expiresInSeconds: -60 }),
    reason: /has expired/,
  },
  {
    name: 'a token signed by another key under an unknown key id',
    make: async () =>
      mintToken(await generateIssuerKey(), local.issuer.issuer, local.issuer.audience, {
        sub: 'user-a',
      }),
    reason: /unknown key/,
  },
  {
    name: 'a token signed by another key under the issuer’s key id',
    make: async () => {
      const other = await generateIssuerKey();
      return mintToken(
        { ...other, kid: local.issuer.key.kid },
        local.issuer.issuer,
        local.issuer.audience,
        {
          sub: 'user-a',
        },
      );
    },
    reason: /signature is invalid/,
  },
  {
    name: 'a token with alg none',
    make: async () => {
      const now = Math.floor(Date.now() / 1000);
      const claims = {
        iss: local.issuer.issuer,
        aud: local.issuer.audience,
        sub: 'user-a',
        iat: now,
        exp: now + 600,
      };
      return `${base64url({ alg: 'none', typ: 'JWT' })}.${base64url(claims)}.`;
    },
    reason: /unsupported algorithm|malformed/,
  },
  {
    name: 'a valid token re-headed as alg none with its signature dropped',
    make: async () => {
      const [, payload] = (await local.mint({ sub: 'user-a' })).split('.');
      return `${base64url({ alg: 'none', kid: local.issuer.key.kid })}.${payload}.`;
    },
    reason: /unsupported algorithm|malformed/,
  },
  {
    name: 'an HS256 token keyed with the issuer’s public key',
    make: () =>
      new SignJWT({ sub: 'user-a' })
        .setProtectedHeader({ alg: 'HS256', kid: local.issuer.key.kid })
        .setIssuer(local.issuer.issuer)
        .setAudience(local.issuer.audience)
        .setExpirationTime('10m')
        .sign(new TextEncoder().encode(JSON.stringify(local.issuer.key.publicJwk))),
    reason: /unsupported algorithm/,
  },
  {
    name: 'a token for another audience',
    make: () => local.mint({ sub: 'user-a', audience: 'another-app' }),
    reason: /valid audience/,
  },
  {
    name: 'a token from another issuer',
    make: async () =>
      mintToken(local.issuer.key, 'https://evil.test', local.issuer.audience, { sub: 'user-a' }),
    reason: /valid issuer/,
  },
  {
    name: 'a token that is not valid yet',
    make: () => local.mint({ sub: 'user-a', issuedAt: Math.floor(Date.now() / 1000) + 3600 }),
    reason: /not valid yet/,
  },
  { name: 'a string that is no JWT', make: async () => 'not.a.jwt', reason: /malformed/ },
];

describe('the JWT authorizer', () => {
  it('passes a valid token’s subject to the handler as the caller', async () => {
    const account = await seed({ ownerId: 'token-holder' });
    const token = await local.mint({ sub: 'token-holder' });

    const response = checked('GET', '/accounts', await request('GET', '/accounts', { token }));

    expect(response.status).toBe(200);
    expect(response.body.items.map((a: { id: string }) => a.id)).toEqual([account.accountId]);
  });

  it.each(badTokens)(
    'answers 401 like API Gateway to $name, without calling the handler',
    async ({ make, reason }) => {
      const token = await make();
      const before = invocations;

      const response = checked('GET', '/accounts', await request('GET', '/accounts', { token }));

      expect(response.status).toBe(401);
      expect(response.body).toEqual({ message: 'Unauthorized' });
      expect(response.headers.get('www-authenticate')).toMatch(reason);
      expect(invocations).toBe(before);
    },
  );

  it('answers 404 to an unknown route before asking for a token', async () => {
    const response = await request('DELETE', '/accounts/acc-1');

    expect(response.status).toBe(404);
    expect(response.body).toEqual({ message: 'Not Found' });
  });

  it('serves its JWKS and discovery document', async () => {
    const discovery = (await (await fetch(local.issuer.discoveryUrl)).json()) as {
      issuer: string;
      jwks_uri: string;
    };
    const jwks = (await (await fetch(discovery.jwks_uri)).json()) as { keys: { d?: string }[] };

    expect(discovery.issuer).toBe(local.issuer.issuer);
    expect(jwks.keys).toEqual([
      expect.objectContaining({ kid: local.issuer.key.kid, kty: 'RSA', alg: 'RS256' }),
    ]);
    expect(jwks.keys[0]?.d).toBeUndefined();
  });
});

describe('through HTTP', () => {
  let token: string;

  beforeAll(async () => {
    token = await local.mint({ sub: 'user-a' });
  });

  const routes: { method: string; template: string; body?: string }[] = [
    { method: 'POST', template: '/accounts/{id}/sync' },
    { method: 'GET', template: '/accounts/{id}/sync-runs' },
    { method: 'GET', template: '/accounts/{id}/transactions' },
    { method: 'POST', template: '/accounts/{id}/relink', body: '{"link_reference":"consent-1"}' },
    { method: 'PATCH', template: '/accounts/{id}/settings', body: '{"relink_pushes":false}' },
  ];

  it.each(routes)(
    '$method $template answers 404 for another user’s account',
    async ({ method, template, body }) => {
      const theirs = await seed({ ownerId: 'user-b' });

      const response = await request(method, template.replace('{id}', theirs.accountId), {
        token,
        ...(body ? { body } : {}),
      });

      expect(checked(method, template, response).status).toBe(404);
      expect(response.body.error.code).toBe('not_found');
    },
  );

  it.each([
    "acc-1'%20OR%20'1'='1",
    '..%2Facc-1',
    '%3Cscript%3E',
    'acc-1%22%7D%2C%7B%22ownerId',
    '%E0%A4%A',
  ])('refuses the id %s with 400', async (id) => {
    const response = await request('GET', `/accounts/${id}/transactions`, { token });

    expect(checked('GET', '/accounts/{id}/transactions', response).status).toBe(400);
  });

  it('does not route a path with extra segments', async () => {
    const response = await request('GET', '/accounts/acc-1/../other/transactions', { token });

    expect(response.status).toBe(404);
  });

  it('refuses a repeated query parameter', async () => {
    const account = await seed();

    const response = await request(
      'GET',
      `/accounts/${account.accountId}/sync-runs?limit=1&limit=50`,
      { token },
    );

    expect(checked('GET', '/accounts/{id}/sync-runs', response).status).toBe(400);
  });

  it('answers 413 from the handler to a body over its 4 KiB', async () => {
    const account = await seed();

    const response = await request('PATCH', `/accounts/${account.accountId}/settings`, {
      token,
      body: JSON.stringify({ relink_pushes: true, pad: 'x'.repeat(8 * 1024) }),
    });

    expect(checked('PATCH', '/accounts/{id}/settings', response).status).toBe(413);
  });

  it('stops reading a body over the gateway’s limit', async () => {
    const account = await seed();
    const before = invocations;

    const response = await request('PATCH', `/accounts/${account.accountId}/settings`, {
      token,
      body: 'x'.repeat(2 * 1024 * 1024),
    });

    expect(response.status).toBe(413);
    expect(invocations).toBe(before);
  });

  it('answers 400 to malformed JSON', async () => {
    const account = await seed();

    const response = await request('PATCH', `/accounts/${account.accountId}/settings`, {
      token,
      body: '{"relink_pushes":',
    });

    expect(checked('PATCH', '/accounts/{id}/settings', response).body.error).toEqual({
      code: 'invalid_request',
      message: 'the body is not valid JSON.',
    });
  });
});

describe('npm run local:token', () => {
  it('finds the state of a stack on another port under that port, and loses it on close', async () => {
    const other = await startLocalApi({ handler: bed.handler, port: 0, demoUsers: ['user-a'] });
    const file = join(import.meta.dirname, '..', '..', stateFileFor(other.api.port));

    const written = await readIssuerState(file);
    await other.close();

    expect(written.apiUrl).toBe(other.url);
    await expect(stat(file)).rejects.toThrow();
  });

  it('leaves a state file only its owner can read', async () => {
    const file = join(stateDir, 'issuer.json');

    const state = await readIssuerState(file);
    const mode = (await stat(file)).mode & 0o777;

    expect(mode).toBe(0o600);
    expect(state).toMatchObject({ issuer: local.issuer.issuer, apiUrl: local.url });
  });

  it('prints, as its last line, a token the API accepts for the first demo user', async () => {
    const account = await seed({ ownerId: 'user-a' });
    const { stdout } = await promisify(execFile)(
      'npx',
      ['tsx', 'local/token.ts', '--state', join(stateDir, 'issuer.json')],
      { cwd: join(import.meta.dirname, '..', '..') },
    );
    const token = stdout.trim().split('\n').at(-1) ?? '';

    const response = await request('GET', '/accounts', { token });

    expect(response.status).toBe(200);
    expect(response.body.items.map((a: { id: string }) => a.id)).toContain(account.accountId);
  });
});
