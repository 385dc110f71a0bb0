/**
 * `npm run local:token -- [--user ID] [--ttl SECONDS] [--port P]`: prints a bearer token for a
 * demo user of the running local stack as its last line. It signs with the key `npm start`
 * wrote to its state file, so it works from any terminal while the stack runs; `--port` names
 * the stack started with `npm start -- --port P`.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_API_PORT, mintToken, readIssuerState, stateFileFor } from './jwt-issuer';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      user: { type: 'string' },
      ttl: { type: 'string' },
      port: { type: 'string', default: String(DEFAULT_API_PORT) },
      state: { type: 'string' },
    },
  });
  if (!/^\d{1,5}$/.test(values.port)) throw new Error(`--port ${values.port} is not a port`);
  const state = await readIssuerState(values.state ?? stateFileFor(Number(values.port)));
  const user = values.user ?? state.demoUsers[0];
  if (user === undefined) throw new Error('no --user given and the local stack has no demo users');
  const ttl = values.ttl === undefined ? undefined : Number(values.ttl);
  if (ttl !== undefined && !(Number.isInteger(ttl) && ttl > 0)) {
    throw new Error(`--ttl ${values.ttl} is not a whole number of seconds above 0`);
  }
  if (!state.demoUsers.includes(user)) {
    process.stderr.write(
      `note: ${user} is not one of the demo users (${state.demoUsers.join(', ')})\n`,
    );
  }
  const token = await mintToken(state.key, state.issuer, state.audience, {
    sub: user,
    ...(ttl ? { expiresInSeconds: ttl } : {}),
  });
  process.stderr.write(`token for ${user}, API at ${state.apiUrl}\n`);
  process.stdout.write(`${token}\n`);
}

main().catch((error: Error) => {
  process.stderr.write(`local:token: ${error.message}\n`);
  process.exitCode = 1;
});
