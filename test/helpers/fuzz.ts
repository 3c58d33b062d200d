// What the fuzz tests share: a seeded PRNG (every case is reproducible from the seed the
// run prints), the seed and time budget from the environment (QUILT_FUZZ_SEED,
// QUILT_FUZZ_MS), and a loop that runs cases until the budget is spent.

/** A seeded PRNG (mulberry32): uniform floats in [0, 1), the same sequence for the same seed. */
export class Rng {
  private s: number;

  constructor(seed: number) {
    this.s = seed >>> 0;
  }

  next(): number {
    this.s = (this.s + 0x6d2b79f5) >>> 0;
    let t = this.s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  }

  /** An integer in [lo, hi]. */
  int(lo: number, hi: number): number {
    return lo + Math.floor(this.next() * (hi - lo + 1));
  }

  pick<T>(xs: readonly T[]): T {
    return xs[Math.floor(this.next() * xs.length)] as T;
  }

  chance(p: number): boolean {
    return this.next() < p;
  }

  bytes(n: number): Buffer {
    const out = Buffer.alloc(n);
    for (let i = 0; i < n; i++) out[i] = Math.floor(this.next() * 256);
    return out;
  }
}

export interface FuzzRun {
  seed: number;
  budgetMs: number;
}

/** The run's seed (QUILT_FUZZ_SEED, else a fresh one) and budget (QUILT_FUZZ_MS, else `defaultMs`). */
export function fuzzRun(label: string, defaultMs: number): FuzzRun {
  const envSeed = process.env.QUILT_FUZZ_SEED;
  const seed =
    envSeed !== undefined && envSeed !== "" ? Number(envSeed) >>> 0 : Math.floor(Math.random() * 2 ** 32);
  const envMs = Number(process.env.QUILT_FUZZ_MS);
  const budgetMs = Number.isFinite(envMs) && envMs > 0 ? envMs : defaultMs;
  // Printed up front as well as on failure: a run killed by a CI timeout still says its seed.
  console.log(`${label}: QUILT_FUZZ_SEED=${seed} QUILT_FUZZ_MS=${budgetMs}`);
  return { seed, budgetMs };
}

/** How to rerun exactly this run (or only case `index` of it), for assertion messages. */
export function reproduce(run: FuzzRun, testFile: string, index?: number): string {
  const only = index === undefined ? `QUILT_FUZZ_MS=${run.budgetMs}` : `QUILT_FUZZ_CASE=${index}`;
  return `reproduce with QUILT_FUZZ_SEED=${run.seed} ${only} npx vitest run ${testFile}`;
}

/** The PRNG of case `index` of a run: a case reproduces on its own (QUILT_FUZZ_CASE). */
export function caseRng(seed: number, index: number): Rng {
  return new Rng(Math.imul(seed ^ 0x9e3779b9, 0x85ebca6b) ^ Math.imul(index + 1, 0xc2b2ae35));
}

/** The case indices to run: only QUILT_FUZZ_CASE when set, else 0, 1, 2... */
export function caseIndices(): number[] | undefined {
  const only = process.env.QUILT_FUZZ_CASE;
  return only !== undefined && only !== "" ? [Number(only)] : undefined;
}
