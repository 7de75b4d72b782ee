// A small seeded PRNG (mulberry32) for the simulator and tests: the one source
// of randomness, so a seed replays a run exactly. Also the Rand given to nodes.

import type { Rand } from "../../src/raft/index.js";

export class SeededRand implements Rand {
  private state: number;

  constructor(seed: number) {
    this.state = seed >>> 0;
  }

  nextUint32(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  }

  nextInt(maxExclusive: number): number {
    if (!(Number.isSafeInteger(maxExclusive) && maxExclusive > 0)) {
      throw new RangeError(`nextInt bound ${maxExclusive} must be a positive integer`);
    }
    return Math.floor((this.nextUint32() / 2 ** 32) * maxExclusive);
  }

  /** True with probability permille / 1000. */
  chancePermille(permille: number): boolean {
    return this.nextInt(1000) < permille;
  }
}

/** A Rand that always returns the same offset (clamped to the bound): fixed timeouts in tests. */
export function fixedRand(value: number): Rand {
  return { nextInt: (maxExclusive: number) => Math.min(value, maxExclusive - 1) };
}
