import { InvokeCommand, LambdaClient } from '@aws-sdk/client-lambda';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RunningLocalLambda, startLocalLambda } from '../../../local/engines/lambda';

let engine: RunningLocalLambda;
let client: LambdaClient;
const errors: unknown[] = [];

beforeAll(async () => {
  engine = await startLocalLambda({
    functions: {
      echo: async (event) => ({ echoed: event }),
      broken: async () => {
        throw new TypeError('no such field');
      },
    },
    onError: (error) => errors.push(error),
  });
  client = new LambdaClient({
    endpoint: engine.endpoint,
    region: 'us-east-1',
    credentials: { accessKeyId: 'local', secretAccessKey: 'local' },
  });
});

afterAll(async () => {
  client.destroy();
  await engine.close();
});

const payload = (value: unknown) => new TextEncoder().encode(JSON.stringify(value));
const decoded = (bytes: Uint8Array | undefined) => JSON.parse(new TextDecoder().decode(bytes));

describe('local Lambda Invoke endpoint', () => {
  it('answers a RequestResponse invocation with the function’s result', async () => {
    const response = await client.send(
      new InvokeCommand({ FunctionName: 'echo', Payload: payload({ n: 1 }) }),
    );

    expect(response.StatusCode).toBe(200);
    expect(decoded(response.Payload)).toEqual({ echoed: { n: 1 } });
  });

  it('accepts an Event invocation with 202 and runs it in the background', async () => {
    const response = await client.send(
      new InvokeCommand({ FunctionName: 'broken', InvocationType: 'Event', Payload: payload({}) }),
    );
    await engine.settled();

    expect(response.StatusCode).toBe(202);
    expect(errors).toEqual([expect.any(TypeError)]);
  });

  it('reports a function error the way Lambda does', async () => {
    const response = await client.send(new InvokeCommand({ FunctionName: 'broken' }));

    expect(response.FunctionError).toBe('Unhandled');
    expect(decoded(response.Payload)).toEqual({
      errorType: 'TypeError',
      errorMessage: 'no such field',
    });
  });

  it('refuses a function it does not serve', async () => {
    await expect(client.send(new InvokeCommand({ FunctionName: 'absent' }))).rejects.toMatchObject({
      name: 'ResourceNotFoundException',
    });
  });

  it('finds a function named by its ARN', async () => {
    const response = await client.send(
      new InvokeCommand({
        FunctionName: 'arn:aws:lambda:us-east-1:123456789012:function:echo',
        Payload: payload('x'),
      }),
    );

    expect(decoded(response.Payload)).toEqual({ echoed: 'x' });
  });
});
