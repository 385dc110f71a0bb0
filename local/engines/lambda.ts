/**
 * A loopback endpoint that answers Lambda's Invoke API (`POST /2015-03-31/functions/{name}/
 * invocations`), so that a tool built on @aws-sdk/client-lambda, such as `npm run ops --
 * fan-out --local`, invokes the local stack's handlers the way it invokes deployed functions.
 *
 * `Event` invocations answer 202 at once and run the function in the background, as Lambda's
 * asynchronous invocation does; `RequestResponse` answers 200 with the function's result, or
 * with `X-Amz-Function-Error: Unhandled` and the error's name and message when it threw.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { closeServer, listen, readBody } from '../net';

/** A function the endpoint serves: the event in, the result out. */
export type LocalFunction = (event: unknown) => Promise<unknown>;

export interface LocalLambdaOptions {
  /** Functions by name. */
  functions: Record<string, LocalFunction>;
  /** 0 (the default) picks a free port. */
  port?: number;
  host?: string;
  /** Called with the error of an `Event` invocation, which has no caller to hand it to. */
  onError?: (error: unknown, functionName: string) => void;
}

export interface RunningLocalLambda {
  endpoint: string;
  /** Invocations answered, by function name. */
  invocations(): Record<string, number>;
  /** Resolves when every background (`Event`) invocation has finished. */
  settled(): Promise<void>;
  close(): Promise<void>;
}

const INVOKE_PATH = /^\/2015-03-31\/functions\/([^/]+)\/invocations$/;

/** Starts the endpoint on loopback. */
export async function startLocalLambda(options: LocalLambdaOptions): Promise<RunningLocalLambda> {
  const host = options.host ?? '127.0.0.1';
  const counts = new Map<string, number>();
  const running = new Set<Promise<void>>();

  const server = createServer((request, response) => {
    void handle(request, response).catch((error: unknown) => {
      reply(response, 500, { message: (error as Error).message }, 'ServiceException');
    });
  });

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const match = request.method === 'POST' ? INVOKE_PATH.exec(request.url ?? '') : null;
    if (!match) {
      reply(response, 404, { message: 'not an Invoke request' }, 'ResourceNotFoundException');
      return;
    }
    // The SDK sends the name as given: a plain name or an ARN ending with it.
    const name = decodeURIComponent(match[1] ?? '')
      .split(':')
      .pop() as string;
    const fn = options.functions[name];
    if (!fn) {
      reply(response, 404, { message: `Function not found: ${name}` }, 'ResourceNotFoundException');
      return;
    }
    const body = await readBody(request);
    let event: unknown;
    try {
      event = body.length > 0 ? JSON.parse(body) : {};
    } catch {
      reply(response, 400, { message: 'payload is not JSON' }, 'InvalidRequestContentException');
      return;
    }
    counts.set(name, (counts.get(name) ?? 0) + 1);
    if (request.headers['x-amz-invocation-type'] === 'Event') {
      const run = fn(event)
        .then(
          () => undefined,
          (error: unknown) => options.onError?.(error, name),
        )
        .finally(() => running.delete(run));
      running.add(run);
      reply(response, 202, undefined);
      return;
    }
    try {
      reply(response, 200, (await fn(event)) ?? null);
    } catch (error) {
      const { name: errorType, message } = error as Error;
      response.setHeader('X-Amz-Function-Error', 'Unhandled');
      reply(response, 200, { errorType, errorMessage: message });
    }
  }

  await listen(server, options.port ?? 0, host);
  const { port } = server.address() as AddressInfo;
  return {
    endpoint: `http://${host}:${port}`,
    invocations: () => Object.fromEntries(counts),
    settled: async () => {
      while (running.size > 0) await Promise.allSettled([...running]);
    },
    close: async () => {
      await closeServer(server);
      await Promise.allSettled([...running]);
    },
  };
}

function reply(response: ServerResponse, status: number, body: unknown, errorType?: string) {
  response.statusCode = status;
  response.setHeader('Content-Type', 'application/json');
  if (errorType) response.setHeader('x-amzn-ErrorType', errorType);
  response.end(body === undefined ? '' : JSON.stringify(body));
}
