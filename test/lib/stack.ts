/**
 * Builds the stack the way bin/app.ts does, from cdk.json's context plus overrides. Bundling is
 * skipped unless asked for (`aws:cdk:bundling-stacks` = []), which keeps a synth well under a
 * second instead of running esbuild for every function.
 */
import { App } from 'aws-cdk-lib';
import { Template } from 'aws-cdk-lib/assertions';
import cdkJson from '../../cdk.json';
import { loadConfig } from '../../lib/config';
import { MomoSyncStack } from '../../lib/momo-sync-stack';

type Json = Record<string, unknown>;

const isObject = (value: unknown): value is Json =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

function merge(base: Json, override: Json): Json {
  const merged: Json = { ...base };
  for (const [key, value] of Object.entries(override)) {
    const current = merged[key];
    merged[key] = isObject(current) && isObject(value) ? merge(current, value) : value;
  }
  return merged;
}

export interface BuildOptions {
  /** Deep-merged over cdk.json's `momoSync`. */
  momoSync?: Json;
  stage?: string;
  /** Run esbuild for every function (slow; one test only). */
  bundling?: boolean;
  outdir?: string;
}

/** The CDK context of a test app. */
export function testContext(options: BuildOptions = {}): Json {
  return {
    ...cdkJson.context,
    momoSync: merge(cdkJson.context.momoSync, options.momoSync ?? {}),
    ...(options.stage !== undefined ? { stage: options.stage } : {}),
    ...(options.bundling ? {} : { 'aws:cdk:bundling-stacks': [] }),
  };
}

/** A synthesised stack and its template. */
export function buildStack(options: BuildOptions = {}) {
  const app = new App({ context: testContext(options), outdir: options.outdir });
  const config = loadConfig(app.node);
  const stack = new MomoSyncStack(app, 'MomoSyncTest', { config });
  return { app, config, stack, template: Template.fromStack(stack) };
}

/** A template resource: its type and properties. */
export interface Resource {
  Type: string;
  Properties: Json;
}

/** One IAM statement, with its actions and resources always as arrays. */
export interface Statement {
  Effect: string;
  Action: string[];
  Resource: unknown[];
}

const asArray = <T>(value: T | T[] | undefined): T[] =>
  value === undefined ? [] : Array.isArray(value) ? value : [value];

/** Every statement of every policy attached to the role of the function with this logical id. */
export function statementsOfFunction(template: Template, functionLogicalId: string): Statement[] {
  const resources = template.toJSON().Resources as Record<string, Resource>;
  const fn = resources[functionLogicalId];
  if (!fn) throw new Error(`no resource ${functionLogicalId}`);
  const roleId = (fn.Properties.Role as { 'Fn::GetAtt': [string, string] })['Fn::GetAtt'][0];
  return Object.values(resources)
    .filter((resource) => resource.Type === 'AWS::IAM::Policy')
    .filter((policy) =>
      asArray(policy.Properties.Roles as unknown[]).some(
        (role) => isObject(role) && role.Ref === roleId,
      ),
    )
    .flatMap((policy) => (policy.Properties.PolicyDocument as { Statement: Json[] }).Statement)
    .map((statement) => ({
      Effect: statement.Effect as string,
      Action: asArray(statement.Action as string | string[]),
      Resource: asArray(statement.Resource as unknown),
    }));
}
