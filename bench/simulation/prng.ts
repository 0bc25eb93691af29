/**
 * The simulation's randomness: a seeded PRNG written here (mulberry32, 32-bit state, by Tommy Ettinger;
 * public domain), normals by Box-Muller, and a 32-bit FNV-1a string hash for deriving seeds and for
 * breaking ties without looking at any ranking. No dependency, so a seed gives the same world on every
 * machine and Node version (only Math.imul, shifts and Math.log/sqrt/cos, which V8 computes the same way).
 */

/** A source of uniform numbers in [0, 1). */
export type Uniform = () => number;

/** mulberry32: a seeded uniform PRNG in [0, 1); the same seed always gives the same sequence. */
export function mulberry32(seed: number): Uniform {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** One draw of N(mean, sd) by Box-Muller (two uniforms per draw; the second normal is not kept). */
export function normal(uniform: Uniform, mean = 0, sd = 1): number {
  const u1 = 1 - uniform(); // (0, 1]: log(0) cannot happen
  const u2 = uniform();
  return mean + sd * Math.sqrt(-2 * Math.log(u1)) * Math.cos(2 * Math.PI * u2);
}

/** A uniform integer in [0, n). */
export function integerBelow(uniform: Uniform, n: number): number {
  return Math.floor(uniform() * n);
}

/** 32-bit FNV-1a of a string's UTF-16 code units, unsigned. */
export function fnv1a(text: string): number {
  let hash = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    hash ^= text.charCodeAt(i);
    hash = Math.imul(hash, 0x01000193);
  }
  return hash >>> 0;
}

/** An independent stream of the run's seed for one purpose ("world", "sessions:pbm", ...). */
export function stream(seed: number, purpose: string): Uniform {
  return mulberry32(fnv1a(`${seed}:${purpose}`));
}
