import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { type Duration, RemovalPolicy } from 'aws-cdk-lib';
import { PolicyDocument, PolicyStatement, Role, ServicePrincipal } from 'aws-cdk-lib/aws-iam';
import { Architecture, Runtime } from 'aws-cdk-lib/aws-lambda';
import { NodejsFunction, OutputFormat } from 'aws-cdk-lib/aws-lambda-nodejs';
import { LogGroup, type RetentionDays } from 'aws-cdk-lib/aws-logs';
import { Construct } from 'constructs';
import { aliasArgs, BUNDLE_BANNER, BUNDLE_MAIN_FIELDS, BUNDLE_TARGET } from '../bundling';
import { METRICS_NAMESPACE } from '../metrics';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Props of {@link SyncFunction}. */
export interface SyncFunctionProps {
  /** The handler's folder under `lambdas/` (its entry is `index.ts` there). */
  readonly entry: string;
  /** Powertools service name: the `service` key of every log line and metric. */
  readonly serviceName: string;
  readonly timeout: Duration;
  /** @default 512 */
  readonly memorySize?: number;
  readonly logRetention: RetentionDays;
  readonly environment?: Record<string, string>;
  /** @default RemovalPolicy.DESTROY (logs are operational, not user data) */
  readonly logRemovalPolicy?: RemovalPolicy;
}

/**
 * A momo-sync Lambda: NodejsFunction on Node.js 22 and arm64 (Graviton is cheaper per GB-second
 * for the same I/O-bound work), an ES module bundle minified with source maps, its own log group,
 * and the whole AWS SDK bundled so the code runs against the versions it was tested with, not the
 * runtime's (lib/bundling.ts holds the options the benchmark and tests bundle with too).
 */
export class SyncFunction extends Construct {
  readonly function: NodejsFunction;
  readonly logGroup: LogGroup;

  constructor(scope: Construct, id: string, props: SyncFunctionProps) {
    super(scope, id);
    this.logGroup = new LogGroup(this, 'Logs', {
      retention: props.logRetention,
      removalPolicy: props.logRemovalPolicy ?? RemovalPolicy.DESTROY,
    });
    // Its own role rather than AWSLambdaBasicExecutionRole, which may write to every log group
    // of the account: this one writes to the function's log group only. Inline, so the grants
    // the constructs add (the role's DefaultPolicy) stay exactly the function's data access.
    const role = new Role(this, 'Role', {
      assumedBy: new ServicePrincipal('lambda.amazonaws.com'),
      inlinePolicies: {
        logs: new PolicyDocument({
          statements: [
            new PolicyStatement({
              actions: ['logs:CreateLogStream', 'logs:PutLogEvents'],
              resources: [this.logGroup.logGroupArn],
            }),
          ],
        }),
      },
    });
    this.function = new NodejsFunction(this, 'Function', {
      role,
      entry: path.join(ROOT, 'lambdas', props.entry, 'index.ts'),
      handler: 'handler',
      projectRoot: ROOT,
      depsLockFilePath: path.join(ROOT, 'package-lock.json'),
      runtime: Runtime.NODEJS_22_X,
      architecture: Architecture.ARM_64,
      timeout: props.timeout,
      memorySize: props.memorySize ?? 512,
      logGroup: this.logGroup,
      environment: {
        NODE_OPTIONS: '--enable-source-maps',
        POWERTOOLS_SERVICE_NAME: props.serviceName,
        POWERTOOLS_METRICS_NAMESPACE: METRICS_NAMESPACE,
        ...props.environment,
      },
      bundling: {
        format: OutputFormat.ESM,
        target: BUNDLE_TARGET,
        minify: true,
        sourceMap: true,
        // Stack traces need file and line, not the sources: keeps the .map small.
        sourcesContent: false,
        externalModules: [],
        mainFields: [...BUNDLE_MAIN_FIELDS],
        banner: BUNDLE_BANNER,
        esbuildArgs: aliasArgs(),
        tsconfig: path.join(ROOT, 'tsconfig.json'),
      },
    });
  }
}
