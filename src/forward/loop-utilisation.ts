// Each forwarding thread publishes its event-loop utilisation (the share of
// the last second its loop spent running JavaScript and I/O callbacks rather
// than waiting) in the shared traffic counters, for /metrics.
import { performance, type EventLoopUtilization } from 'node:perf_hooks';
import type { TrafficCounters } from '../slots/traffic';

const PERIOD_MS = 1000;

/** Starts publishing; returns the function that stops it. */
export function publishLoopUtilisation(traffic: TrafficCounters, thread: number): () => void {
  let last: EventLoopUtilization = performance.eventLoopUtilization();
  const timer = setInterval(() => {
    const now = performance.eventLoopUtilization();
    traffic.setLoopUtilisation(thread, Math.round(performance.eventLoopUtilization(now, last).utilization * 1e6));
    last = now;
  }, PERIOD_MS);
  timer.unref();
  return () => clearInterval(timer);
}
