/**
 * A Secrets Manager endpoint on loopback that knows one operation, GetSecretValue, answered from
 * an in-memory map. With `AWS_ENDPOINT_URL_SECRETS_MANAGER` pointed at it, handlers that read
 * their secrets through @aws-sdk/client-secrets-manager (or Powertools' SecretsProvider) run
 * unchanged. It speaks the JSON 1.1 protocol the SDK uses and answers errors in the shape the
 * real service does, so the SDK raises the same typed exceptions.
 */
import { createHash, randomUUID } from 'node:crypto';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeServer, listen, readBody } from '../net';
import { LOCAL_ACCOUNT_ID, LOCAL_REGION } from './sqs';

export interface SecretsEndpointOptions {
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  region?: string;
  /** Initial secrets: name to SecretString. */
  secrets?: Record<string, string>;
}

export interface RunningSecrets {
  endpoint: string;
  port: number;
  /** Adds or replaces a secret; the next GetSecretValue returns the new version. */
  put(name: string, value: string): void;
  /** The ARN the endpoint reports for a secret name. */
  arnOf(name: string): string;
  /** GetSecretValue requests answered so far, found or not. */
  reads(): number;
  close(): Promise<void>;
}

interface StoredSecret {
  name: string;
  value: string;
  versionId: string;
  createdDate: number;
}

const TARGET_PREFIX = 'secretsmanager.';
const CONTENT_TYPE = 'application/x-amz-json-1.1';

/** Starts the endpoint on loopback. */
export async function startSecretsEndpoint(
  options: SecretsEndpointOptions = {},
): Promise<RunningSecrets> {
  const host = options.host ?? '127.0.0.1';
  const region = options.region ?? LOCAL_REGION;
  const secrets = new Map<string, StoredSecret>();
  let reads = 0;
  // Real ARNs end in a random six-character suffix; a hash of the name keeps them stable.
  const arnOf = (name: string) =>
    `arn:aws:secretsmanager:${region}:${LOCAL_ACCOUNT_ID}:secret:${name}-${suffix(name)}`;
  const put = (name: string, value: string) => {
    secrets.set(name, {
      name,
      value,
      versionId: randomUUID(),
      createdDate: Math.floor(Date.now() / 1000),
    });
  };
  for (const [name, value] of Object.entries(options.secrets ?? {})) put(name, value);

  const find = (secretId: unknown): StoredSecret | undefined => {
    if (typeof secretId !== 'string') return undefined;
    const byName = secrets.get(secretId);
    if (byName) return byName;
    for (const secret of secrets.values()) {
      // Partial ARNs (without the suffix) also name a secret in the real service.
      if (secretId === arnOf(secret.name) || secretId === arnOf(secret.name).slice(0, -7)) {
        return secret;
      }
    }
    return undefined;
  };

  const server: Server = createServer((request, response) => {
    readBody(request)
      .then((body) => {
        const target = String(request.headers['x-amz-target'] ?? '');
        const operation = target.startsWith(TARGET_PREFIX)
          ? target.slice(TARGET_PREFIX.length)
          : target;
        if (request.method !== 'POST' || operation !== 'GetSecretValue') {
          fail(response, 400, 'InvalidRequestException', `Unsupported operation ${operation}`);
          return;
        }
        reads += 1;
        let input: { SecretId?: unknown };
        try {
          input = JSON.parse(body || '{}');
        } catch {
          fail(response, 400, 'SerializationException', 'Request body is not valid JSON');
          return;
        }
        const secret = find(input.SecretId);
        if (!secret) {
          fail(
            response,
            400,
            'ResourceNotFoundException',
            "Secrets Manager can't find the specified secret.",
          );
          return;
        }
        answer(response, 200, {
          ARN: arnOf(secret.name),
          Name: secret.name,
          VersionId: secret.versionId,
          SecretString: secret.value,
          VersionStages: ['AWSCURRENT'],
          CreatedDate: secret.createdDate,
        });
      })
      .catch(() => fail(response, 500, 'InternalServiceError', 'Internal error'));
  });
  await listen(server, options.port ?? 0, host);
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://${host}:${port}`,
    port,
    put,
    arnOf,
    reads: () => reads,
    close: () => closeServer(server),
  };
}

function suffix(name: string): string {
  return createHash('sha256').update(name).digest('base64url').replace(/[-_]/g, 'x').slice(0, 6);
}

function answer(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': CONTENT_TYPE });
  response.end(JSON.stringify(body));
}

/** Errors as the service sends them: the type in a header and in `__type`, and a message. */
function fail(response: ServerResponse, status: number, type: string, message: string): void {
  response.writeHead(status, { 'content-type': CONTENT_TYPE, 'x-amzn-errortype': type });
  response.end(JSON.stringify({ __type: type, message }));
}
