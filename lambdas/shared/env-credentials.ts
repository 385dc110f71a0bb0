/**
 * Stands in for `@aws-sdk/credential-provider-node` inside the Lambda bundles (lib/bundling.ts
 * aliases the package to this file). Lambda gives every function its role's credentials in
 * AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY and AWS_SESSION_TOKEN, which is the first link of the
 * SDK's default chain and the only one that ever answers there. The other links (SSO, shared
 * config files, web identity, container and instance metadata, credential processes) never
 * answer in Lambda yet weigh about 135 KB of each minified bundle, through the nested STS and SSO
 * clients they pull in. Code run from source (tests, the local stack) keeps the full chain.
 */
import { fromEnv } from '@aws-sdk/credential-provider-env';

type EnvInit = Parameters<typeof fromEnv>[0];

/** The one export of the replaced package that SDK clients import. */
export const defaultProvider = (init: EnvInit = {}) => fromEnv(init);
