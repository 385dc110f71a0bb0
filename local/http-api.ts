/**
 * API Gateway's HTTP API with a JWT authorizer, on loopback: it matches the request against the
 * routes of core/api/routes.ts, verifies the bearer token against the issuer's served JWKS
 * (signature, `alg`, issuer, audience, expiry) and answers 401 the way API Gateway does, then
 * builds the payload v2 event with the token's claims and calls the real api handler.
 */
import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { APIGatewayProxyEventV2WithJWTAuthorizer, Context } from 'aws-lambda';
import { createRemoteJWKSet, errors, type JWTPayload, jwtVerify } from 'jose';
import { matchRoute, routeKey } from '../core/api/routes';
import { closeServer, listen } from './net';

/** What the local API calls: the api function's handler, as Lambda would. */
export type LocalApiHandler = (
  event: APIGatewayProxyEventV2WithJWTAuthorizer,
  context: Context,
) => Promise<unknown>;

export interface HttpApiOptions {
  handler: LocalApiHandler;
  /** The `iss` tokens must carry. */
  issuer: string;
  /** Tokens must name one of these in `aud`. */
  audience: string | string[];
  jwksUri: string;
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  /**
   * Largest body accepted before the handler sees it. API Gateway takes up to 10 MB; the local
   * one stops at 1 MiB to keep a runaway client from filling the process.
   */
  maxBodyBytes?: number;
  /** @default 'momo-sync-api' */
  functionName?: string;
  /** The function timeout the Context counts down from. @default 10 s */
  timeoutMs?: number;
}

export interface RunningHttpApi {
  url: string;
  port: number;
  close(): Promise<void>;
}

const JSON_HEADERS = { 'content-type': 'application/json' };

/** Starts the emulated HTTP API. */
export async function startHttpApi(options: HttpApiOptions): Promise<RunningHttpApi> {
  const host = options.host ?? '127.0.0.1';
  const jwks = createRemoteJWKSet(new URL(options.jwksUri));
  const verify = (token: string) =>
    jwtVerify(token, jwks, {
      issuer: options.issuer,
      audience: options.audience,
      // API Gateway verifies RSA signatures only; naming the one we issue also refuses `none`.
      algorithms: ['RS256'],
    });
  const maxBodyBytes = options.maxBodyBytes ?? 1024 * 1024;
  const server = createServer((request, response) => {
    void serve(request, response).catch(() => {
      if (!response.headersSent) send(response, 500, { message: 'Internal Server Error' });
    });
  });

  async function serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://localhost');
    const match = matchRoute(request.method ?? 'GET', url.pathname);
    // API Gateway looks the route up before it runs the route's authorizer.
    if (!match) return send(response, 404, { message: 'Not Found' });
    const token = bearerToken(request.headers.authorization);
    if (token === undefined) {
      return send(response, 401, { message: 'Unauthorized' }, { 'www-authenticate': 'Bearer' });
    }
    let claims: JWTPayload;
    try {
      ({ payload: claims } = await verify(token));
    } catch (error) {
      return send(
        response,
        401,
        { message: 'Unauthorized' },
        {
          'www-authenticate': `Bearer scope="" error="invalid_token" error_description="${describeTokenError(error)}"`,
        },
      );
    }
    const body = await readBody(request, maxBodyBytes);
    if (body === 'too_large') {
      return send(response, 413, { message: 'Request Entity Too Large' }, { connection: 'close' });
    }
    const event = buildEvent(
      request,
      url,
      routeKey(match.route),
      match.pathParameters,
      claims,
      body,
    );
    const result = await options.handler(
      event,
      lambdaContext(options.functionName ?? 'momo-sync-api', options.timeoutMs ?? 10_000),
    );
    writeResult(response, result, event.requestContext.requestId);
  }

  await listen(server, options.port ?? 0, host);
  const { port } = server.address() as AddressInfo;
  return { url: `http://${host}:${port}`, port, close: () => closeServer(server) };
}

/** The token of an `Authorization` header; API Gateway takes it with or without `Bearer `. */
function bearerToken(header: string | undefined): string | undefined {
  if (header === undefined) return undefined;
  const token = header.replace(/^Bearer\s+/i, '').trim();
  return token.length > 0 ? token : undefined;
}

/** Why a token was refused, in the words of the `www-authenticate` header. */
export function describeTokenError(error: unknown): string {
  if (error instanceof errors.JWTExpired) return 'the token has expired';
  if (error instanceof errors.JWTClaimValidationFailed) {
    if (error.claim === 'aud') return 'the token does not have a valid audience';
    if (error.claim === 'iss') return 'the token does not have a valid issuer';
    if (error.claim === 'nbf') return 'the token is not valid yet';
    return 'the token has an invalid claim';
  }
  if (error instanceof errors.JOSEAlgNotAllowed) return 'the token uses an unsupported algorithm';
  if (error instanceof errors.JWKSNoMatchingKey) return 'the token was signed by an unknown key';
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return 'the token signature is invalid';
  }
  return 'the token is malformed';
}

type Body = { text: string; base64: boolean } | undefined | 'too_large';

async function readBody(request: IncomingMessage, maxBytes: number): Promise<Body> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    size += chunk.byteLength;
    if (size > maxBytes) {
      request.resume();
      return 'too_large';
    }
    chunks.push(chunk);
  }
  if (size === 0) return undefined;
  const raw = Buffer.concat(chunks);
  // API Gateway passes text bodies as they are and anything else base64-encoded.
  const type = request.headers['content-type'] ?? '';
  const textual = /^(text\/|application\/(json|xml|x-www-form-urlencoded)|[^;]*\+json)/i.test(type);
  return textual
    ? { text: raw.toString('utf8'), base64: false }
    : { text: raw.toString('base64'), base64: true };
}

/** Claims as API Gateway hands them to the function: every value a string. */
function flattenClaims(claims: JWTPayload): Record<string, string> {
  const flat: Record<string, string> = {};
  for (const [name, value] of Object.entries(claims)) {
    if (typeof value === 'string') flat[name] = value;
    else if (Array.isArray(value)) flat[name] = `[${value.join(' ')}]`;
    else if (typeof value === 'object' && value !== null) flat[name] = JSON.stringify(value);
    else flat[name] = String(value);
  }
  return flat;
}

function buildEvent(
  request: IncomingMessage,
  url: URL,
  key: string,
  pathParameters: Record<string, string>,
  claims: JWTPayload,
  body: Exclude<Body, 'too_large'>,
): APIGatewayProxyEventV2WithJWTAuthorizer {
  const headers: Record<string, string> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value !== undefined) headers[name] = Array.isArray(value) ? value.join(',') : value;
  }
  const query: Record<string, string> = {};
  for (const [name, value] of url.searchParams) {
    query[name] = query[name] === undefined ? value : `${query[name]},${value}`;
  }
  const now = new Date();
  const scope = typeof claims.scope === 'string' ? claims.scope.split(' ') : undefined;
  return {
    version: '2.0',
    routeKey: key,
    rawPath: url.pathname,
    rawQueryString: url.search.replace(/^\?/, ''),
    headers,
    ...(Object.keys(query).length > 0 ? { queryStringParameters: query } : {}),
    ...(Object.keys(pathParameters).length > 0 ? { pathParameters } : {}),
    requestContext: {
      accountId: '123456789012',
      apiId: 'local',
      authorizer: {
        principalId: '',
        integrationLatency: 0,
        jwt: { claims: flattenClaims(claims), scopes: scope ?? [] },
      },
      domainName: headers.host ?? 'localhost',
      domainPrefix: 'localhost',
      http: {
        method: request.method ?? 'GET',
        path: url.pathname,
        protocol: `HTTP/${request.httpVersion}`,
        sourceIp: request.socket.remoteAddress ?? '127.0.0.1',
        userAgent: headers['user-agent'] ?? '',
      },
      requestId: randomUUID(),
      routeKey: key,
      stage: '$default',
      time: now.toUTCString(),
      timeEpoch: now.getTime(),
    },
    ...(body ? { body: body.text } : {}),
    isBase64Encoded: body?.base64 ?? false,
  };
}

/** A Lambda Context for one invocation, counting down from the function's timeout. */
export function lambdaContext(functionName: string, timeoutMs: number): Context {
  const deadline = Date.now() + timeoutMs;
  return {
    callbackWaitsForEmptyEventLoop: false,
    functionName,
    functionVersion: '$LATEST',
    invokedFunctionArn: `arn:aws:lambda:us-east-1:123456789012:function:${functionName}`,
    memoryLimitInMB: '512',
    awsRequestId: randomUUID(),
    logGroupName: `/aws/lambda/${functionName}`,
    logStreamName: 'local',
    getRemainingTimeInMillis: () => Math.max(0, deadline - Date.now()),
    done: () => undefined,
    fail: () => undefined,
    succeed: () => undefined,
  };
}

interface StructuredResult {
  statusCode?: number;
  headers?: Record<string, string | number | boolean>;
  body?: string;
  isBase64Encoded?: boolean;
  cookies?: string[];
}

/** Writes the function's result as API Gateway would (a bare value is a 200 JSON body). */
function writeResult(response: ServerResponse, result: unknown, requestId: string): void {
  const structured: StructuredResult =
    typeof result === 'object' && result !== null && 'statusCode' in result
      ? (result as StructuredResult)
      : { statusCode: 200, headers: JSON_HEADERS, body: JSON.stringify(result) };
  const headers: Record<string, string | string[]> = { 'apigw-requestid': requestId };
  for (const [name, value] of Object.entries(structured.headers ?? {})) {
    headers[name.toLowerCase()] = String(value);
  }
  if (structured.cookies?.length) headers['set-cookie'] = structured.cookies;
  const body = structured.body ?? '';
  response.writeHead(structured.statusCode ?? 200, headers);
  response.end(structured.isBase64Encoded ? Buffer.from(body, 'base64') : body);
}

function send(
  response: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  response.writeHead(status, { ...JSON_HEADERS, 'apigw-requestid': randomUUID(), ...headers });
  response.end(JSON.stringify(body));
}
