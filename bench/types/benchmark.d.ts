// The part of benchmark@2 the micro benches use (the package ships no types).
declare module 'benchmark' {
  namespace Benchmark {
    interface Options {
      /** Seconds a benchmark may run before it stops sampling. */
      maxTime?: number;
      minSamples?: number;
      minTime?: number;
      initCount?: number;
      /** The function gets a Deferred and calls resolve() when one operation is done. */
      defer?: boolean;
    }
    interface Deferred {
      resolve(): void;
    }
    interface Stats {
      /** Relative margin of error, percent. */
      rme: number;
      /** Seconds per operation. */
      mean: number;
      deviation: number;
      moe: number;
      sample: number[];
    }
    interface Event {
      target: Benchmark;
    }
    class Suite {
      constructor(name?: string);
      add(name: string, fn: (deferred: Deferred) => void, options?: Options): Suite;
      on(event: 'cycle' | 'complete' | 'error', cb: (event: Event) => void): Suite;
      run(options?: { async?: boolean }): Suite;
    }
  }
  class Benchmark {
    name: string;
    /** Operations per second. */
    hz: number;
    stats: Benchmark.Stats;
    error?: Error;
    aborted: boolean;
  }
  export = Benchmark;
}
