// How far V8 lets a forwarding thread's heap grow (README "Memory"). These are
// Worker resourceLimits, set in code for every thread the pool starts (and
// every replacement), so they hold however the process was launched: npm
// start, the mcmp-edge bin, the bench, a test.
import { getHeapStatistics } from 'node:v8';
import type { ResourceLimits } from 'node:worker_threads';

/**
 * Young generation, MiB. Left to V8 it grows to 16 MiB semi-spaces under
 * load (+14 MiB at 2 threads). A request's garbage dies young at 4 too; only
 * the scavenge count changes (~1.3x), not the work per request (5 interleaved
 * rounds: least-contended CPU 22.8 µs/req default, 23.0 at 4, 24.9 at 2).
 */
const YOUNG_GENERATION_MB = 4;

/**
 * Old generation, MiB. What matters is not the ceiling but how V8 grows the
 * heap below it: with a ceiling of 2 GiB or more (a thread's default is 4 GiB
 * here, from the machine's memory) the next full GC waits until the old
 * generation is up to 4x what survived the last one; below 2 GiB at most 2x,
 * and never less than live + 8 MiB. A forwarding thread keeps ~6.5 MiB live
 * and promotes ~2.5 MiB/s under load, so its old generation peaked at ~25 MiB
 * and now at ~14 (measured with --trace-gc; any ceiling from 256 to 2000 gave
 * the same peak, 1 GiB keeps room for many connections). A thread that does
 * hold 1 GiB dies with ERR_WORKER_OUT_OF_MEMORY and the pool replaces it, as
 * it would at 4 GiB.
 */
const OLD_GENERATION_MB = 1024;

export const FORWARDING_RESOURCE_LIMITS: ResourceLimits = {
  maxYoungGenerationSizeMb: YOUNG_GENERATION_MB,
  maxOldGenerationSizeMb: OLD_GENERATION_MB,
};

/** This thread's V8 heap ceiling in MiB as V8 applied it (young + old generations). */
export function heapLimitMiB(): number {
  return Math.round(getHeapStatistics().heap_size_limit / (1024 * 1024));
}
