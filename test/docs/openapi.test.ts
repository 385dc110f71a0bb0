/**
 * docs/openapi.yaml against the code: the same routes, the same limits, the same error codes.
 * The shapes of real responses are held to it in test/lambdas/api/routes.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { API_ERROR_CODES } from '../../core/api/contract';
import { API_ROUTES } from '../../core/api/routes';
import { ACCOUNT_ID_PATTERN, DEFAULT_PAGE_SIZE, MAX_PAGE_SIZE } from '../../core/api/validation';
import { DEFAULT_API_SETTINGS } from '../../lambdas/api/deps';
import { loadOpenApi } from '../support/openapi';

const document = loadOpenApi();
const operations = Object.entries(document.paths).flatMap(([path, methods]) =>
  Object.entries(methods).map(([method, operation]) => ({ path, method, operation })),
);

describe('docs/openapi.yaml', () => {
  it('documents exactly the routes the API serves, under their operation ids', () => {
    const documented = operations
      .map(
        ({ path, method, operation }) => `${method.toUpperCase()} ${path} ${operation.operationId}`,
      )
      .sort();

    const served = API_ROUTES.map((r) => `${r.method} ${r.path} ${r.operationId}`).sort();

    expect(documented).toEqual(served);
  });

  it.each(API_ROUTES)(
    '$method $path documents a request body exactly when it reads one',
    (route) => {
      const operation = document.paths[route.path]?.[route.method.toLowerCase()];

      expect(operation?.requestBody !== undefined).toBe(route.body);
    },
  );

  it.each(API_ROUTES)(
    '$method $path documents 400, 401 and 500, and 404 when it names an account',
    (route) => {
      const statuses = Object.keys(
        document.paths[route.path]?.[route.method.toLowerCase()]?.responses ?? {},
      );

      const expected = ['400', '401', '500', ...(route.path.includes('{id}') ? ['404'] : [])];

      expect(statuses).toEqual(expect.arrayContaining(expected));
    },
  );

  it('requires a bearer JWT on every operation', () => {
    expect(document.security).toEqual([{ bearerAuth: [] }]);
    expect(document.components.securitySchemes).toEqual({
      bearerAuth: expect.objectContaining({ type: 'http', scheme: 'bearer', bearerFormat: 'JWT' }),
    });
    expect(operations.filter(({ operation }) => operation.security !== undefined)).toEqual([]);
  });

  it('gives the account id the pattern the API enforces', () => {
    const parameter = document.components.parameters.AccountId as { schema: { pattern: string } };

    expect(parameter.schema.pattern).toBe(ACCOUNT_ID_PATTERN.source);
  });

  it('gives the page size the bounds and default the API enforces', () => {
    const parameter = document.components.parameters.Limit as {
      schema: { minimum: number; maximum: number; default: number };
    };

    expect(parameter.schema).toMatchObject({
      minimum: 1,
      maximum: MAX_PAGE_SIZE,
      default: DEFAULT_PAGE_SIZE,
    });
  });

  it('lists every error code the API writes', () => {
    const schema = document.components.schemas.ErrorCode as { enum: string[] };

    expect([...schema.enum].sort()).toEqual([...API_ERROR_CODES].sort());
  });

  it('states the default bounds of the sync interval', () => {
    const body = document.components.schemas.SettingsBody as {
      properties: { sync_interval_minutes: { minimum: number; maximum: number } };
    };

    expect(body.properties.sync_interval_minutes).toMatchObject({
      minimum: DEFAULT_API_SETTINGS.minSyncIntervalMinutes,
      maximum: DEFAULT_API_SETTINGS.maxSyncIntervalMinutes,
    });
  });
});
