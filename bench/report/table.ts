// Plain-text tables for the terminal (and for pasting into a report).
import type { ManagementResult } from '../e2e/management';
import type { ScenarioResult } from '../e2e/scenarios';
import type { MicroRow } from '../micro/harness';
import { ratiosFor, referenceEdge } from './ratios';

function cell(v: number | null | undefined, digits: number): string {
  return v === null || v === undefined || !Number.isFinite(v) ? '-' : v.toFixed(digits);
}

/** `align` has one letter per column, l or r; columns past its end are right-aligned. */
export function renderTable(header: readonly string[], rows: ReadonlyArray<readonly string[]>, align = 'l'): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (r: readonly string[]): string =>
    r.map((c, i) => ((align[i] ?? 'r') === 'r' ? c.padStart(widths[i] as number) : c.padEnd(widths[i] as number))).join('  ').trimEnd();
  return [line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)].join('\n');
}

export function scenarioTable(r: ScenarioResult): string {
  const edge = referenceEdge(r);
  const header = ['target', 'req/s', 'x direct', `x ${edge?.label ?? 'edge'}`, 'p50 ms', 'p99 ms', 'CPU us/req', 'CPU x edge', 'backend us/req', 'peak RSS MiB', 'errors'];
  const rows = r.targets.map((t) => {
    const q = ratiosFor(r, t);
    const errs = t.failure !== undefined ? 'FAILED' : t.errors + t.non2xx > 0 ? `${t.errors}+${t.non2xx}` : '0';
    return [t.label, cell(t.rps, 0), cell(q.rpsVsDirect, 2), cell(q.rpsVsEdge, 2), cell(t.p50Ms, 2), cell(t.p99Ms, 2), cell(t.cpuUsPerReq, 1), cell(q.cpuVsEdge, 2), cell(t.backendCpuUsPerReq, 1), cell(t.peakRssMiB, 0), errs];
  });
  return `${r.name}\n${renderTable(header, rows)}`;
}

export function microTable(rows: readonly MicroRow[]): string {
  return renderTable(
    ['suite', 'case', 'ops/s', '± %', 'ns/op'],
    rows.map((r) => [r.suite, r.name, r.error !== undefined ? `ERROR ${r.error}` : cell(r.opsPerSec, 0), cell(r.rmePercent, 1), cell(r.nsPerOp, 0)]),
    'll',
  );
}

function median(values: readonly number[]): number | undefined {
  const v = values.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  if (v.length === 0) return undefined;
  const mid = v.length >> 1;
  return v.length % 2 === 1 ? v[mid] : ((v[mid - 1] as number) + (v[mid] as number)) / 2;
}

/** This build against --baseline: medians over the alternated management rounds of each target. */
export function managementComparison(runs: readonly ManagementResult[]): string {
  const targets = [...new Set(runs.map((m) => m.target))];
  const of = (target: string, pick: (m: ManagementResult) => number | undefined): string => {
    const values = runs.filter((m) => m.target === target).map(pick).filter((v): v is number => v !== undefined);
    return cell(median(values), 1);
  };
  const rows: Array<[string, (m: ManagementResult) => number | undefined]> = [
    ['STATUS msg/s, no client traffic', (m) => m.idle?.perSecond],
    ['primary CPU us/STATUS, no client traffic', (m) => m.idle?.primaryCpuUs],
    ['client p99 ms, traffic alone', (m) => m.impact?.aloneP99Ms],
    ['client p99 ms, with STATUS flood', (m) => m.impact?.withStatusP99Ms],
    ['client req/s, traffic alone', (m) => m.impact?.aloneRps],
    ['client req/s, with STATUS flood', (m) => m.impact?.withStatusRps],
    ['STATUS msg/s during client traffic', (m) => m.impact?.status.perSecond],
    ['primary CPU us/STATUS during client traffic', (m) => m.impact?.status.primaryCpuUs],
    ['STATUS msg/s, 1 connection, traffic', (m) => m.status.find((s) => s.connections === 1)?.perSecond],
    ['STATUS msg/s, probed ajp node', (m) => m.status.find((s) => s.route === 'probed')?.perSecond],
  ];
  const rounds = targets.map((t) => runs.filter((m) => m.target === t).length);
  return `management plane, medians of ${rounds.join('/')} alternated rounds\n${renderTable(['measure', ...targets], rows.map(([name, pick]) => [name, ...targets.map((t) => of(t, pick))]), 'l')}`;
}

export function managementTable(m: ManagementResult): string {
  const lines = [`management plane of ${m.target} under client traffic`];
  lines.push(
    renderTable(
      ['measure', 'value', 'detail'],
      [
        ...(m.idle !== undefined ? [['STATUS msg/s, no client traffic', cell(m.idle.perSecond, 0), `${m.idle.connections} connections, primary thread ${cell(m.idle.primaryCpuUs, 1)} µs CPU per STATUS`]] : []),
        ...(m.impact !== undefined
          ? [
              ['client p99 ms, traffic alone', cell(m.impact.aloneP99Ms, 2), `100 B keep-alive, ${cell(m.impact.aloneRps, 0)} req/s (median of ${m.impact.alone.length})`],
              [`client p99 ms, with STATUS x${m.impact.status.connections}`, cell(m.impact.withStatusP99Ms, 2), `${cell(m.impact.withStatusRps, 0)} req/s (median of ${m.impact.withStatus.length}, runs alternated A B B A)`],
            ]
          : []),
        ...m.status.map((s) => [
          `STATUS msg/s, ${s.route}, ${s.connections} connection${s.connections === 1 ? '' : 's'}`,
          cell(s.perSecond, 0),
          `${s.messages} in ${s.seconds.toFixed(1)} s, round trip p50 ${cell(s.p50Us, 0)} µs, ${s.failures} failures${s.probes === undefined ? '' : `, ${s.probes} probe connections`}${s.underLoad ? '' : ', traffic had ended'}`,
        ]),
        ...(m.routeChange !== undefined
          ? [
              ['ENABLE-APP reply -> routed, median us', cell(m.routeChange.medianUs, 0), `${m.routeChange.samples} samples, ${m.routeChange.missed} missed`],
              ['ENABLE-APP reply -> routed, p90 us', cell(m.routeChange.p90Us, 0), ''],
              ['ENABLE-APP reply -> routed, max us', cell(m.routeChange.maxUs, 0), `at most ${m.routeChange.maxRequests} request(s) until routed`],
              ['request to an existing context, median us', cell(m.routeChange.baselineMedianUs, 0), 'same connection, same load: the baseline of the three above'],
            ]
          : []),
        ...(m.traffic !== undefined ? [['client traffic meanwhile, req/s', cell(m.traffic.rps, 0), `100 B keep-alive, p99 ${cell(m.traffic.p99Ms, 2)} ms`]] : []),
      ],
      'lrl',
    ),
  );
  for (const e of m.errors) lines.push(`error: ${e}`);
  return lines.join('\n');
}
