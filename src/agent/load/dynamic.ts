// The load factor as mod_cluster's DynamicLoadBalanceFactorProvider computes
// it: each metric's load divided by its capacity is put at the head of its
// history (at most `history` older values kept), the history is averaged with
// weight 1/decay^i for the i-th newest value, the averages are combined by
// metric weight, rounded to a percentage, clamped to 0..99 and inverted, so
// the result is 1 (busiest) .. 100 (idle). A metric that throws
// NodeUnavailableError makes the result -1 (the proxy puts the node in error).
// With the Java defaults (history 9, decay 2, initial load 0) a new idle node
// reports 50, 75, 88, 94, 97, 99, 99, 100 — the ramp of the reference trace.
import { AGENT_DEFAULTS } from '../defaults';
import { AgentConfigError } from '../errors';

export interface LoadMetric {
  /** Shown in `metrics()`. */
  readonly name: string;
  /** Relative weight; 0 leaves the metric out. Default 1. */
  readonly weight?: number;
  /** The value of `load()` that means fully busy. Default 1. */
  readonly capacity?: number;
  /** Current load in the metric's own unit. */
  load(): number;
}

/** Thrown by a metric to report the node unavailable (STATUS Load=-1). */
export class NodeUnavailableError extends Error {
  readonly code = 'ERR_NODE_UNAVAILABLE';
}

export interface DynamicLoadOptions {
  /** Older values kept per metric (Java `history`, default 9). */
  readonly history?: number;
  /** Java `decayFactor` (default 2, at least 1). */
  readonly decayFactor?: number;
  /**
   * 0..100: the history starts filled with this load factor, so a new node
   * ramps up (default 0 = full load, Java's default); -1 starts empty.
   */
  readonly initialLoad?: number;
}

/** Anything that gives the next STATUS load (-1, or 1..100). */
export interface LoadProvider {
  next(): number;
}

export class DynamicLoadProvider implements LoadProvider {
  readonly #metrics: Array<{ metric: LoadMetric; weight: number; capacity: number; history: number[] }>;
  readonly #history: number;
  readonly #decay: number;

  constructor(metrics: readonly LoadMetric[], opts: DynamicLoadOptions = {}) {
    this.#history = Math.max(0, Math.floor(opts.history ?? AGENT_DEFAULTS.load.history));
    this.#decay = Math.max(1, opts.decayFactor ?? AGENT_DEFAULTS.load.decayFactor);
    const initialLoad = opts.initialLoad ?? AGENT_DEFAULTS.load.initialLoad;
    if (initialLoad !== -1 && !(Number.isInteger(initialLoad) && initialLoad >= 0 && initialLoad <= 100)) {
      throw new AgentConfigError(`initialLoad: expected -1 or an integer 0..100, got ${initialLoad}`);
    }
    this.#metrics = metrics.map((metric) => {
      const weight = metric.weight ?? 1;
      const capacity = metric.capacity ?? 1;
      if (!(weight >= 0) || !(capacity > 0)) throw new AgentConfigError(`load metric ${metric.name}: weight must be >= 0 and capacity > 0`);
      const history = initialLoad === -1 ? [] : new Array<number>(this.#history).fill(1 - initialLoad / 100);
      return { metric, weight, capacity, history };
    });
  }

  next(): number {
    let unavailable = false;
    let totalWeight = 0;
    let totalWeighted = 0;
    for (const m of this.#metrics) {
      if (m.weight <= 0) continue;
      let value: number;
      try {
        value = m.metric.load() / m.capacity;
      } catch (err) {
        if (err instanceof NodeUnavailableError) unavailable = true;
        continue;
      }
      if (!Number.isFinite(value)) continue;
      m.history.length = Math.min(m.history.length, this.#history);
      m.history.unshift(value);
      totalWeight += m.weight;
      totalWeighted += this.#average(m.history) * m.weight;
    }
    if (unavailable) return -1;
    // Java: (int) Math.round(NaN) is 0 when no metric counted, so an idle 100.
    const load = totalWeight === 0 ? 0 : Math.floor((100 * totalWeighted) / totalWeight + 0.5);
    return 100 - Math.max(0, Math.min(load, 99));
  }

  /** The newest normalised value of each metric. */
  metrics(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const m of this.#metrics) out[m.metric.name] = m.history[0] ?? 0;
    return out;
  }

  #average(history: readonly number[]): number {
    let total = 0;
    let totalDecay = 0;
    for (let i = 0; i < history.length; i++) {
      const decay = 1 / this.#decay ** i;
      totalDecay += decay;
      total += (history[i] as number) * decay;
    }
    return total / totalDecay;
  }
}
