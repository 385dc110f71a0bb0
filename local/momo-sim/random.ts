/**
 * A small seeded PRNG. The simulator draws everything from named streams derived from one seed,
 * so a wallet's history does not shift when another wallet or a fault draws more numbers.
 */

export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [min, max], both inclusive. */
  int(min: number, max: number): number;
  /** True with the given probability. */
  chance(probability: number): boolean;
  pick<T>(items: readonly T[]): T;
  /** Lower-case hex of the given length. */
  hex(length: number): string;
}

/** 32-bit FNV-1a of a string: turns a seed and a stream name into a PRNG state. */
function hash32(text: string): number {
  let state = 0x811c9dc5;
  for (let index = 0; index < text.length; index += 1) {
    state ^= text.charCodeAt(index);
    state = Math.imul(state, 0x01000193) >>> 0;
  }
  return state;
}

/** A deterministic stream for `seed` and `stream` (mulberry32). */
export function createRandom(seed: string | number, stream: string): Random {
  let state = hash32(`${seed}/${stream}`);
  const next = (): number => {
    state = (state + 0x6d2b79f5) >>> 0;
    let mixed = state;
    mixed = Math.imul(mixed ^ (mixed >>> 15), mixed | 1);
    mixed ^= mixed + Math.imul(mixed ^ (mixed >>> 7), mixed | 61);
    return ((mixed ^ (mixed >>> 14)) >>> 0) / 4294967296;
  };
  const int = (min: number, max: number): number => min + Math.floor(next() * (max - min + 1));
  return {
    next,
    int,
    chance: (probability) => probability > 0 && next() < probability,
    pick: <T>(items: readonly T[]): T => items[int(0, items.length - 1)] as T,
    hex: (length) => Array.from({ length }, () => int(0, 15).toString(16)).join(''),
  };
}
