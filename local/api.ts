/**
 * The app API of the local stack: the JWT issuer, the emulated HTTP API in front of the real
 * api handler, and the state file `npm run local:token` mints tokens from.
 */
import { type LocalApiHandler, type RunningHttpApi, startHttpApi } from './http-api';
import {
  type RunningJwtIssuer,
  removeIssuerState,
  startJwtIssuer,
  stateFileFor,
  type TokenRequest,
  writeIssuerState,
} from './jwt-issuer';

export interface LocalApiOptions {
  /** The api function's handler (lambdas/api/index.ts, loaded with the local environment). */
  handler: LocalApiHandler;
  /** Port of the HTTP API; 0 picks a free one. */
  port: number;
  host?: string;
  /** The demo users' ids; the first is the default of `npm run local:token`. */
  demoUsers: string[];
  /** @default stateFileFor(the API's port); null writes none. Removed again on close. */
  stateFile?: string | null;
}

export interface RunningLocalApi {
  /** Base URL the app points at. */
  url: string;
  issuer: RunningJwtIssuer;
  api: RunningHttpApi;
  /** A token for a user, as `npm run local:token` prints it. */
  mint(request: TokenRequest): Promise<string>;
  close(): Promise<void>;
}

/** Starts the issuer and the HTTP API, then records the issuer's state for `local:token`. */
export async function startLocalApi(options: LocalApiOptions): Promise<RunningLocalApi> {
  const host = options.host ?? '127.0.0.1';
  const issuer = await startJwtIssuer({ host });
  let api: RunningHttpApi;
  try {
    api = await startHttpApi({
      handler: options.handler,
      issuer: issuer.issuer,
      audience: issuer.audience,
      jwksUri: issuer.jwksUri,
      port: options.port,
      host,
    });
  } catch (error) {
    await issuer.close();
    throw error;
  }
  const stateFile = options.stateFile === undefined ? stateFileFor(api.port) : options.stateFile;
  if (stateFile !== null) {
    await writeIssuerState(stateFile, {
      issuer: issuer.issuer,
      audience: issuer.audience,
      key: issuer.key,
      apiUrl: api.url,
      demoUsers: options.demoUsers,
    });
  }
  return {
    url: api.url,
    issuer,
    api,
    mint: (request) => issuer.mint(request),
    close: async () => {
      await api.close();
      await issuer.close();
      if (stateFile !== null) await removeIssuerState(stateFile, api.url);
    },
  };
}
