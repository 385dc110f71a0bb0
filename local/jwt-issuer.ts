/**
 * A local OIDC issuer for the app API: an RS256 key pair generated at start, its JWKS and a
 * discovery document served on loopback, and tokens minted for demo users. The local HTTP API
 * verifies against the served JWKS exactly as API Gateway's JWT authorizer verifies against a
 * real provider's, so the app talks to the laptop the way it talks to AWS.
 *
 * The private key lives only in memory and in a state file under `.local-data/` (mode 0600),
 * which `npm run local:token` reads to mint tokens while `npm start` runs.
 */
import { randomUUID } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname } from 'node:path';
import { exportJWK, generateKeyPair, importJWK, type JWK, SignJWT } from 'jose';
import { closeServer, listen } from './net';

/** The audience local tokens carry and the local authorizer expects. */
export const LOCAL_AUDIENCE = 'momo-sync-app';
/** The port `npm start` serves the app API on unless told otherwise. */
export const DEFAULT_API_PORT = 4000;

/**
 * Where a local API on `port` leaves the issuer's state for `npm run local:token`. One file per
 * port, so that a test stack on a free port never overwrites the one a developer is using.
 */
export function stateFileFor(port: number): string {
  return `.local-data/api-issuer-${port}.json`;
}
/** One hour, like most providers' access tokens. */
export const DEFAULT_TOKEN_TTL_SECONDS = 3600;

const ALG = 'RS256';

/** A signing key: the private half signs, the public half is served in the JWKS. */
export interface IssuerKey {
  kid: string;
  privateJwk: JWK;
  publicJwk: JWK;
}

/** A fresh RS256 key pair with a random key id. */
export async function generateIssuerKey(): Promise<IssuerKey> {
  const { publicKey, privateKey } = await generateKeyPair(ALG, { extractable: true });
  const kid = randomUUID();
  return {
    kid,
    privateJwk: { ...(await exportJWK(privateKey)), kid, alg: ALG },
    publicJwk: { ...(await exportJWK(publicKey)), kid, alg: ALG, use: 'sig' },
  };
}

export interface TokenRequest {
  /** The user: the token's `sub`. */
  sub: string;
  /** @default the issuer's audience */
  audience?: string | string[];
  /** @default DEFAULT_TOKEN_TTL_SECONDS; negative for an already expired token (tests). */
  expiresInSeconds?: number;
  /** @default now, in epoch seconds */
  issuedAt?: number;
}

/** Signs an access token for `request.sub` with the given key. */
export async function mintToken(
  key: IssuerKey,
  issuer: string,
  defaultAudience: string,
  request: TokenRequest,
): Promise<string> {
  const issuedAt = request.issuedAt ?? Math.floor(Date.now() / 1000);
  const ttl = request.expiresInSeconds ?? DEFAULT_TOKEN_TTL_SECONDS;
  return new SignJWT({ token_use: 'access' })
    .setProtectedHeader({ alg: ALG, kid: key.kid, typ: 'JWT' })
    .setIssuer(issuer)
    .setSubject(request.sub)
    .setAudience(request.audience ?? defaultAudience)
    .setIssuedAt(issuedAt)
    .setNotBefore(Math.min(issuedAt, issuedAt + ttl))
    .setExpirationTime(issuedAt + ttl)
    .setJti(randomUUID())
    .sign(await importJWK(key.privateJwk, ALG));
}

export interface JwtIssuerOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  /** @default LOCAL_AUDIENCE */
  audience?: string;
  /** @default a fresh key */
  key?: IssuerKey;
}

export interface RunningJwtIssuer {
  /** The `iss` of every token, and the base of the discovery document. */
  issuer: string;
  audience: string;
  jwksUri: string;
  discoveryUrl: string;
  key: IssuerKey;
  mint(request: TokenRequest): Promise<string>;
  close(): Promise<void>;
}

/** Serves the discovery document and the JWKS on loopback. */
export async function startJwtIssuer(options: JwtIssuerOptions = {}): Promise<RunningJwtIssuer> {
  const host = options.host ?? '127.0.0.1';
  const audience = options.audience ?? LOCAL_AUDIENCE;
  const key = options.key ?? (await generateIssuerKey());
  let issuer = '';
  const server = createServer((request, response) => {
    const path = new URL(request.url ?? '/', 'http://localhost').pathname;
    const send = (status: number, body: unknown) => {
      response.writeHead(status, {
        'content-type': 'application/json',
        'cache-control': 'max-age=300',
      });
      response.end(JSON.stringify(body));
    };
    if (request.method !== 'GET') return send(405, { message: 'Method Not Allowed' });
    if (path === '/.well-known/jwks.json') return send(200, { keys: [key.publicJwk] });
    if (path === '/.well-known/openid-configuration') {
      return send(200, {
        issuer,
        jwks_uri: `${issuer}/.well-known/jwks.json`,
        id_token_signing_alg_values_supported: [ALG],
        response_types_supported: ['token'],
        subject_types_supported: ['public'],
      });
    }
    return send(404, { message: 'Not Found' });
  });
  await listen(server, options.port ?? 0, host);
  const { port } = server.address() as AddressInfo;
  issuer = `http://${host}:${port}`;
  return {
    issuer,
    audience,
    jwksUri: `${issuer}/.well-known/jwks.json`,
    discoveryUrl: `${issuer}/.well-known/openid-configuration`,
    key,
    mint: (request) => mintToken(key, issuer, audience, request),
    close: () => closeServer(server),
  };
}

/** What `npm start` leaves behind for `npm run local:token`. */
export interface IssuerState {
  issuer: string;
  audience: string;
  key: IssuerKey;
  /** Base URL of the local HTTP API. */
  apiUrl: string;
  /** The demo users' ids, first one the default of `local:token`. */
  demoUsers: string[];
}

/** Writes the state file, readable by its owner only. */
export async function writeIssuerState(file: string, state: IssuerState): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await writeFile(file, `${JSON.stringify(state, null, 2)}\n`, { mode: 0o600 });
}

/** Removes the state file if it still describes the API at `apiUrl` (nobody took it over). */
export async function removeIssuerState(file: string, apiUrl: string): Promise<void> {
  try {
    const state = await readIssuerState(file);
    if (state.apiUrl === apiUrl) await rm(file, { force: true });
  } catch {
    // Already gone.
  }
}

/** Reads the state file `npm start` wrote; throws with a hint when there is none. */
export async function readIssuerState(
  file: string = stateFileFor(DEFAULT_API_PORT),
): Promise<IssuerState> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch {
    throw new Error(
      `no local issuer state at ${file}: start the local stack with npm start (and pass the same --port)`,
    );
  }
  return JSON.parse(text) as IssuerState;
}
