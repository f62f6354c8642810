// Every micro-benchmark suite, in the order they run.
import type { MicroSuite } from './harness';

export const MICRO_SUITES: readonly MicroSuite[] = [];
