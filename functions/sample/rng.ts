/**
 * A small seeded PRNG (mulberry32) that can be re-seeded cheaply per record, so every record is a
 * pure function of (seed, table, index): the same options always give the same bytes, and a
 * record of one table can be regenerated to link another table to it without keeping it in memory.
 */

/** murmur3's 32-bit finaliser: spreads the bits of an integer. */
export function mix32(x: number): number {
  let h = x | 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

export class Rng {
  private s = 0;

  constructor(a = 0, b = 0, c = 0) {
    this.reseed(a, b, c);
  }

  /** Resets the stream to the one identified by three integers. */
  reseed(a: number, b: number, c: number): this {
    this.s = mix32(mix32(mix32(a ^ 0x9e3779b9) ^ b) + Math.imul(c, 0x27d4eb2f));
    return this;
  }

  /** Uniform in [0, 1). */
  next(): number {
    let t = (this.s = (this.s + 0x6d2b79f5) | 0);
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }

  /** True with probability p. */
  chance(p: number): boolean {
    return this.next() < p;
  }

  /** Integer in [lo, hi], both inclusive. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  /** Standard normal (Box-Muller). */
  normal(): number {
    const u = 1 - this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }

  /** Log-normal with the given median and log-scale sigma. */
  lognormal(median: number, sigma: number): number {
    return median * Math.exp(sigma * this.normal());
  }

  /** An element of `items` drawn with the given (unnormalised) weights. */
  pick<T>(items: readonly T[], weights: readonly number[]): T {
    let total = 0;
    for (const w of weights) total += w;
    let x = this.next() * total;
    for (let i = 0; i < items.length; i++) {
      x -= weights[i];
      if (x < 0) return items[i];
    }
    return items[items.length - 1];
  }
}
