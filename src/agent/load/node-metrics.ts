// Load metrics that mean something for a Node process. Each returns a value
// whose `capacity` means fully busy; the dynamic provider normalises and
// averages them. Each keeps its own previous sample, so a metric measures
// the time between two STATUS reports.
import { performance } from 'node:perf_hooks';
import v8 from 'node:v8';
import { AGENT_DEFAULTS } from '../defaults';
import type { LoadMetric } from './dynamic';

/** Share of time the event loop was busy since the last sample (0..1). */
export function eventLoopMetric(weight = 2): LoadMetric {
  let last = performance.eventLoopUtilization();
  return {
    name: 'eventLoop',
    weight,
    capacity: 1,
    load() {
      const now = performance.eventLoopUtilization();
      const delta = performance.eventLoopUtilization(now, last);
      last = now;
      return delta.utilization;
    },
  };
}

/** Requests being answered now, against how many make the process fully busy. */
export function requestsMetric(inFlight: () => number, capacity: number = AGENT_DEFAULTS.load.requestCapacity, weight = 1): LoadMetric {
  return { name: 'requests', weight, capacity, load: inFlight };
}

/** Used heap against the heap limit. */
export function heapMetric(weight = 1): LoadMetric {
  return {
    name: 'heap',
    weight,
    capacity: 1,
    load() {
      const h = v8.getHeapStatistics();
      return h.used_heap_size / h.heap_size_limit;
    },
  };
}

/** CPU time of the process (user + system) per wall-clock time, against `cores`. */
export function cpuMetric(cores = 1, weight = 1): LoadMetric {
  let lastCpu = process.cpuUsage();
  let lastAt = process.hrtime.bigint();
  return {
    name: 'cpu',
    weight,
    capacity: cores,
    load() {
      const cpu = process.cpuUsage(lastCpu);
      const at = process.hrtime.bigint();
      const elapsedUs = Number(at - lastAt) / 1000;
      lastCpu = process.cpuUsage();
      lastAt = at;
      return elapsedUs <= 0 ? 0 : (cpu.user + cpu.system) / elapsedUs;
    },
  };
}

/** The default set: event loop (weight 2), requests in flight, CPU and heap (weight 1 each). */
export function defaultNodeMetrics(inFlight: () => number): LoadMetric[] {
  return [eventLoopMetric(), requestsMetric(inFlight), cpuMetric(), heapMetric()];
}
