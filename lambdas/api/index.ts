/**
 * The api function: the app's HTTP API behind API Gateway's JWT authorizer. Clients, settings
 * and Powertools are built once per cold start; ./app holds the handler itself.
 */
import { Logger } from '@aws-lambda-powertools/logger';
import { Metrics } from '@aws-lambda-powertools/metrics';
import { createApiHandler } from './app';
import { buildApi } from './deps';

const logger = new Logger();
const metrics = new Metrics();

export const handler = createApiHandler({ ...buildApi(), logger, metrics });
