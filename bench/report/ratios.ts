// The comparisons every report shows: each target against the backend served
// directly and against mcmp-edge (the one with the most forwarding threads).
import type { ScenarioResult, TargetSummary } from '../e2e/scenarios';

export interface Ratios {
  /** rps / rps of direct. */
  readonly rpsVsDirect: number | null;
  /** rps / rps of the reference mcmp-edge. */
  readonly rpsVsEdge: number | null;
  /** CPU per request / that of the reference mcmp-edge. */
  readonly cpuVsEdge: number | null;
  /** p99 / p99 of the reference mcmp-edge. */
  readonly p99VsEdge: number | null;
}

export function referenceEdge(r: ScenarioResult): TargetSummary | undefined {
  let best: TargetSummary | undefined;
  for (const t of r.targets) {
    if (t.kind !== 'mcmp-edge' || !Number.isFinite(t.rps)) continue;
    const threads = Number(/(\d+)t$/.exec(t.label)?.[1] ?? 0);
    const bestThreads = Number(/(\d+)t$/.exec(best?.label ?? '')?.[1] ?? -1);
    if (threads > bestThreads) best = t;
  }
  return best;
}

function ratio(a: number | null, b: number | null | undefined): number | null {
  if (a === null || b === null || b === undefined || !Number.isFinite(a) || !Number.isFinite(b) || b === 0) return null;
  return a / b;
}

export function ratiosFor(r: ScenarioResult, t: TargetSummary): Ratios {
  const direct = r.targets.find((x) => x.kind === 'direct');
  const edge = referenceEdge(r);
  return {
    rpsVsDirect: ratio(t.rps, direct?.rps),
    rpsVsEdge: ratio(t.rps, edge?.rps),
    cpuVsEdge: ratio(t.cpuUsPerReq, edge?.cpuUsPerReq),
    p99VsEdge: ratio(t.p99Ms, edge?.p99Ms),
  };
}
