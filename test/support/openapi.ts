/**
 * Holds real responses to docs/openapi.yaml: the route and status must be documented, the
 * required headers present, and the body valid against the documented schema (ajv, JSON Schema
 * 2020-12, which OpenAPI 3.1 schemas are). It also records which documented responses a test
 * file produced, so a file can prove it exercised every one it should.
 */
import { readFileSync } from 'node:fs';
import Ajv2020, { type ValidateFunction } from 'ajv/dist/2020';
import addFormats from 'ajv-formats';
import { parse } from 'yaml';

const SCHEMA_BASE = 'https://momo-sync.test/schemas/';

type Json = Record<string, unknown>;

interface ResponseObject {
  $ref?: string;
  description?: string;
  headers?: Record<string, { required?: boolean; schema?: Json }>;
  content?: Record<string, { schema?: Json }>;
}

export interface OpenApiDocument {
  security?: unknown;
  paths: Record<
    string,
    Record<string, { operationId: string; responses: Record<string, ResponseObject> } & Json>
  >;
  components: {
    schemas: Record<string, Json>;
    responses: Record<string, ResponseObject>;
    parameters: Record<string, Json>;
  } & Json;
}

/** docs/openapi.yaml, parsed. */
export function loadOpenApi(): OpenApiDocument {
  return parse(readFileSync(new URL('../../docs/openapi.yaml', import.meta.url), 'utf8'));
}

/** Points `#/components/schemas/X` at the ids the schemas are registered under. */
function rewriteRefs(node: unknown): unknown {
  if (Array.isArray(node)) return node.map(rewriteRefs);
  if (typeof node !== 'object' || node === null) return node;
  const out: Json = {};
  for (const [key, value] of Object.entries(node)) {
    out[key] =
      key === '$ref' && typeof value === 'string'
        ? value.replace('#/components/schemas/', SCHEMA_BASE)
        : rewriteRefs(value);
  }
  return out;
}

export interface CheckedResponse {
  statusCode: number;
  headers: Record<string, string | undefined>;
  body: unknown;
}

export interface OpenApiChecker {
  /** Throws, naming what drifted, unless the response is one the document describes. */
  check(method: string, path: string, response: CheckedResponse): void;
  /** `METHOD path status` of every documented response not checked yet. */
  unchecked(filter?: (status: string) => boolean): string[];
  document: OpenApiDocument;
}

export function openApiChecker(document: OpenApiDocument = loadOpenApi()): OpenApiChecker {
  const ajv = new Ajv2020({ allErrors: true, strict: true });
  addFormats(ajv);
  for (const [name, schema] of Object.entries(document.components.schemas)) {
    ajv.addSchema({ ...(rewriteRefs(schema) as Json), $id: `${SCHEMA_BASE}${name}` });
  }
  const validators = new Map<string, ValidateFunction>();
  const seen = new Set<string>();

  const resolve = (response: ResponseObject): ResponseObject => {
    if (!response.$ref) return response;
    const name = response.$ref.replace('#/components/responses/', '');
    const target = document.components.responses[name];
    if (!target) throw new Error(`unresolved response ${response.$ref}`);
    return target;
  };

  return {
    document,
    check(method, path, response) {
      const operation = document.paths[path]?.[method.toLowerCase()];
      if (!operation) throw new Error(`${method} ${path} is not in docs/openapi.yaml`);
      const status = String(response.statusCode);
      const documented = operation.responses[status];
      if (!documented) {
        throw new Error(`${method} ${path} answered ${status}, which docs/openapi.yaml omits`);
      }
      const definition = resolve(documented);
      for (const [name, header] of Object.entries(definition.headers ?? {})) {
        if (header.required && response.headers[name.toLowerCase()] === undefined) {
          throw new Error(`${method} ${path} ${status} lacks the documented header ${name}`);
        }
      }
      const media = definition.content?.['application/json'];
      if (media?.schema) {
        const type = response.headers['content-type'] ?? '';
        if (!type.startsWith('application/json')) {
          throw new Error(`${method} ${path} ${status} is ${type}, not application/json`);
        }
        const key = `${method} ${path} ${status}`;
        let validate = validators.get(key);
        if (!validate) {
          validate = ajv.compile(rewriteRefs(media.schema) as Json);
          validators.set(key, validate);
        }
        if (!validate(response.body)) {
          throw new Error(
            `${key} body drifted from docs/openapi.yaml: ${ajv.errorsText(validate.errors)}\n${JSON.stringify(response.body)}`,
          );
        }
      }
      seen.add(`${method.toUpperCase()} ${path} ${status}`);
    },
    unchecked(filter = () => true) {
      const missing: string[] = [];
      for (const [path, operations] of Object.entries(document.paths)) {
        for (const [method, operation] of Object.entries(operations)) {
          for (const status of Object.keys(operation.responses)) {
            const key = `${method.toUpperCase()} ${path} ${status}`;
            if (filter(status) && !seen.has(key)) missing.push(key);
          }
        }
      }
      return missing;
    },
  };
}
