/**
 * What the api handler writes as EMF: its counts under the api service, and nothing at all for
 * a request that counted nothing (most are reads).
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import type { ApiHandler } from '../../../lambdas/api/app';
import { METRICS } from '../../../lib/metrics';
import { type ApiRequestSpec, type ApiTestBed, invoke, startApiTestBed } from '../../support/api';
import { accountFactory } from '../../support/dynamo';
import { captureStdout, datapoints, type StdoutCapture, sumOf } from '../../support/emf';

let bed: ApiTestBed;
let handler: ApiHandler;
let stdout: StdoutCapture;
let stderr: string[];

beforeAll(async () => {
  bed = await startApiTestBed();
  // The test bed turns EMF off for the route tests; this file reads it.
  delete process.env.POWERTOOLS_METRICS_DISABLED;
  handler = bed.handlerWith({});
});

afterAll(async () => {
  await bed?.close();
});

beforeEach(() => {
  stdout = captureStdout();
  stderr = [];
  vi.spyOn(process.stderr, 'write').mockImplementation((chunk: unknown) => {
    stderr.push(String(chunk));
    return true;
  });
});

afterEach(() => {
  stdout.restore();
  vi.restoreAllMocks();
});

const API = { service: 'api' };

describe('api metrics', () => {
  it('counts a queued manual sync, then the refused second one', async () => {
    // Arrange
    const account = accountFactory({ ownerId: 'counter' });
    await bed.accounts.create(account);
    const sync: ApiRequestSpec = {
      route: 'POST /accounts/{id}/sync',
      sub: 'counter',
      id: account.accountId,
    };

    // Act
    const first = await invoke(handler, sync);
    const second = await invoke(handler, sync);

    // Assert
    expect([first.statusCode, second.statusCode]).toEqual([202, 429]);
    const points = datapoints(stdout.blobs());
    expect(sumOf(points, METRICS.manualSyncQueued, API)).toBe(1);
    expect(sumOf(points, METRICS.manualSyncRateLimited, API)).toBe(1);
    await bed.takeQueued();
  });

  it('writes no EMF and no warning for a read that counted nothing', async () => {
    // Act
    const response = await invoke(handler, { route: 'GET /accounts', sub: 'nobody' });

    // Assert
    expect(response.statusCode).toBe(200);
    expect(stdout.blobs()).toEqual([]);
    expect(stderr.join('')).not.toContain('No application metrics');
  });
});
