/**
 * The route table of the app API: the CDK construct declares exactly these routes on the HTTP
 * API, the local emulator matches requests against them, the handler dispatches on their keys,
 * and a test holds docs/openapi.yaml to the same list.
 */

export type HttpMethod = 'GET' | 'POST' | 'PATCH';

export interface RouteDef {
  method: HttpMethod;
  /** API Gateway's path template: `{name}` matches one path segment. */
  path: string;
  /** The operationId in docs/openapi.yaml. */
  operationId: string;
  /** Whether the route reads a JSON body. */
  body: boolean;
}

export const API_ROUTES = [
  { method: 'GET', path: '/accounts', operationId: 'listAccounts', body: false },
  { method: 'POST', path: '/accounts/{id}/sync', operationId: 'requestSync', body: true },
  { method: 'GET', path: '/accounts/{id}/sync-runs', operationId: 'listSyncRuns', body: false },
  {
    method: 'GET',
    path: '/accounts/{id}/transactions',
    operationId: 'listTransactions',
    body: false,
  },
  { method: 'POST', path: '/accounts/{id}/relink', operationId: 'relinkAccount', body: true },
  { method: 'PATCH', path: '/accounts/{id}/settings', operationId: 'updateSettings', body: true },
] as const satisfies readonly RouteDef[];

export type ApiRoute = (typeof API_ROUTES)[number];

/** API Gateway's `routeKey`: method, a space, and the path template. */
export type RouteKey = ApiRoute extends infer R
  ? R extends { method: infer M extends string; path: infer P extends string }
    ? `${M} ${P}`
    : never
  : never;

export function routeKey(route: RouteDef): string {
  return `${route.method} ${route.path}`;
}

export interface RouteMatch {
  route: ApiRoute;
  pathParameters: Record<string, string>;
}

/**
 * Matches a request path against the table the way API Gateway does: segment by segment, a
 * `{name}` taking one whole segment (URL-decoded). Returns undefined for no route.
 */
export function matchRoute(method: string, path: string): RouteMatch | undefined {
  const segments = path.split('/');
  for (const route of API_ROUTES) {
    if (route.method !== method) continue;
    const template = route.path.split('/');
    if (template.length !== segments.length) continue;
    const pathParameters: Record<string, string> = {};
    const matched = template.every((part, i) => {
      const segment = segments[i] ?? '';
      const name = /^\{(\w+)\}$/.exec(part)?.[1];
      if (name === undefined) return part === segment;
      if (segment.length === 0) return false;
      try {
        pathParameters[name] = decodeURIComponent(segment);
      } catch {
        pathParameters[name] = segment;
      }
      return true;
    });
    if (matched) return { route, pathParameters };
  }
  return undefined;
}
