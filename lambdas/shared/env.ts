/**
 * Reading a handler's settings from its environment, once at module load. A missing or malformed
 * variable stops the cold start with its name, so a broken deployment fails loudly and early.
 */

/** A setting the function cannot run without. */
export class MissingSettingError extends Error {
  constructor(
    readonly variable: string,
    detail: string,
  ) {
    super(`environment variable ${variable} ${detail}`);
    this.name = 'MissingSettingError';
  }
}

/** The value of a required variable. */
export function requireEnv(name: string, env: NodeJS.ProcessEnv = process.env): string {
  const value = env[name];
  if (value === undefined || value === '') throw new MissingSettingError(name, 'is not set');
  return value;
}

/** A whole number from the environment, or `fallback` when the variable is absent. */
export function intEnv(name: string, fallback?: number, env: NodeJS.ProcessEnv = process.env) {
  const raw = env[name];
  if (raw === undefined || raw === '') {
    if (fallback === undefined) throw new MissingSettingError(name, 'is not set');
    return fallback;
  }
  const value = Number(raw);
  if (!Number.isInteger(value)) throw new MissingSettingError(name, 'is not a whole number');
  return value;
}
