// GET /metrics: a prom-client Registry whose mcmp-edge metrics are read at
// scrape time from the cluster tables and the shared counters the
// forwarding threads write (see README "Metrics" for the list).
import { collectDefaultMetrics, Registry } from 'prom-client';
import type { ClusterState } from '../cluster/state';
import { CONTEXT_STATE, nodeState } from '../cluster/states';
import type { ContextRow, NodeRow } from '../slots/rows';
import type { ClusterCounters } from '../slots/counters';
import { LATENCY_BUCKETS_US, STATUS_CLASSES } from '../slots/layout';
import { CollectedMetric, histogramSamples, type Sample } from './collected';
import type { McmpMessageCounts } from './mcmp-messages';

export interface MetricsSources {
  readonly state: ClusterState;
  readonly counters: ClusterCounters;
  readonly mcmp: McmpMessageCounts;
  /** Per forwarding-thread slot: replacements since start. */
  readonly threadRestarts: () => readonly number[];
}

const CODE_CLASS: readonly string[] = ['none', '1xx', '2xx', '3xx', '4xx', '5xx'];
const BOUNDS_SECONDS = LATENCY_BUCKETS_US.map((us) => us / 1e6);

export class ProxyMetrics {
  readonly registry = new Registry();
  readonly #s: MetricsSources;

  constructor(sources: MetricsSources) {
    this.#s = sources;
    // process_* and nodejs_* of the primary (CPU, memory, event-loop lag, GC).
    collectDefaultMetrics({ register: this.registry });
    // Gauges named like counters: promtool's lint refuses them, and nothing here needs them.
    for (const name of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) this.registry.removeSingleMetric(name);
    for (const m of this.#metrics()) this.registry.registerMetric(m as never);
  }

  get contentType(): string {
    return this.registry.contentType;
  }

  render(): Promise<string> {
    return this.registry.metrics();
  }

  /** Nodes that are not removed (a removed node's route may be the REMOVED placeholder, shared by several). */
  #nodes(): NodeRow[] {
    return this.#s.state.nodes().filter((n) => !n.removed);
  }

  /** Contexts of live nodes, each with its node's route and its vhost's first alias: the labels both context metrics use. */
  #contextRows(): Array<{ c: ContextRow; node: string; host: string }> {
    const routes = new Map(this.#nodes().map((n) => [n.id, n.route]));
    const aliases = firstAliases(this.#s.state);
    const rows: Array<{ c: ContextRow; node: string; host: string }> = [];
    for (const c of this.#s.state.contexts()) {
      const node = routes.get(c.node);
      if (node !== undefined) rows.push({ c, node, host: aliases.get(`${c.node}/${c.vhost}`) ?? '' });
    }
    return rows;
  }

  #metrics(): CollectedMetric[] {
    const { counters, mcmp } = this.#s;
    const traffic = counters.traffic;
    const perNode = (f: (n: NodeRow) => Iterable<Sample>) => (): Iterable<Sample> => this.#nodes().flatMap((n) => [...f(n)]);
    return [
      new CollectedMetric('mcmp_edge_requests_total', 'Client requests by the node that served them (node="" when the proxy answered itself) and status class (none: no status sent, the client went away, or a --docroot file)', 'counter', () => {
        const out: Sample[] = [];
        const add = (node: string, byClass: number[]): void => {
          for (let c = 0; c < STATUS_CLASSES; c++) if ((byClass[c] as number) > 0 || c === 2) out.push({ labels: { node, code_class: CODE_CLASS[c] as string }, value: byClass[c] as number });
        };
        for (const n of this.#nodes()) add(n.route, traffic.nodeRequests(n.id));
        add('', traffic.nodeRequests(-1));
        return out;
      }),
      new CollectedMetric('mcmp_edge_context_requests_total', 'Client requests by node, virtual host (its first alias), context and status class', 'counter', () => {
        const out: Sample[] = [];
        for (const { c, node, host } of this.#contextRows()) {
          const byClass = traffic.contextRequests(c.id);
          for (let k = 0; k < STATUS_CLASSES; k++) {
            if ((byClass[k] as number) > 0 || k === 2) out.push({ labels: { node, host, context: c.path, code_class: CODE_CLASS[k] as string }, value: byClass[k] as number });
          }
        }
        return out;
      }),
      new CollectedMetric('mcmp_edge_context_state', 'Context state: 1 for the current one (enabled, disabled, stopped)', 'gauge', () => {
        const out: Sample[] = [];
        for (const { c, node, host } of this.#contextRows()) {
          for (const [status, name] of Object.entries(CONTEXT_STATE)) out.push({ labels: { node, host, context: c.path, state: name }, value: Number(status) === c.status ? 1 : 0 });
        }
        return out;
      }),
      new CollectedMetric('mcmp_edge_node_received_bytes_total', 'Response body bytes read from the node', 'counter', perNode((n) => [{ labels: { node: n.route }, value: Number(counters.read(n.id)) }])),
      new CollectedMetric('mcmp_edge_node_sent_bytes_total', 'Request body bytes sent to the node', 'counter', perNode((n) => [{ labels: { node: n.route }, value: Number(counters.transferred(n.id)) }])),
      new CollectedMetric('mcmp_edge_upstream_errors_total', 'Failed exchanges with a node by kind: connect (before a response), read (during it), timeout', 'counter', perNode((n) => {
        const f = traffic.nodeFailures(n.id);
        return [
          { labels: { node: n.route, kind: 'connect' }, value: f.connect },
          { labels: { node: n.route, kind: 'read' }, value: f.read },
          { labels: { node: n.route, kind: 'timeout' }, value: f.timeout },
        ];
      })),
      new CollectedMetric('mcmp_edge_failovers_total', 'Requests that left the node for another after a connection failure', 'counter', perNode((n) => [{ labels: { node: n.route }, value: traffic.nodeFailures(n.id).failovers }])),
      new CollectedMetric('mcmp_edge_upstream_retries_total', 'Requests sent again to the node on a new connection because the kept-alive one was closed (AJP: or did not answer CPING)', 'counter', perNode((n) => [{ labels: { node: n.route }, value: traffic.nodeFailures(n.id).retries }])),
      new CollectedMetric('mcmp_edge_requests_in_flight', 'Requests being forwarded to the node now', 'gauge', perNode((n) => [{ labels: { node: n.route }, value: counters.busy(n.id) }])),
      new CollectedMetric('mcmp_edge_node_state', 'Node state: 1 for the current one (ok, error, standby)', 'gauge', perNode((n) => {
        const current = nodeState(counters, n);
        return (['ok', 'error', 'standby'] as const).map((s) => ({ labels: { node: n.route, balancer: n.balancer, state: s }, value: s === current ? 1 : 0 }));
      })),
      new CollectedMetric('mcmp_edge_node_load', 'Load the node reported in its last STATUS (lbfactor, -1..100)', 'gauge', perNode((n) => [{ labels: { node: n.route }, value: counters.lbfactor(n.id) }])),
      new CollectedMetric('mcmp_edge_node_lbstatus', 'Elections per recalculation window × 1000 / load (the balancer\'s ranking value)', 'gauge', perNode((n) => [{ labels: { node: n.route }, value: counters.lbstatus(n.id) }])),
      new CollectedMetric('mcmp_edge_node_elected_total', 'Times the balancer chose the node (wraps at 2^32)', 'counter', perNode((n) => [{ labels: { node: n.route }, value: counters.elected(n.id) >>> 0 }])),
      new CollectedMetric('mcmp_edge_node_ttfb_seconds', 'Time from the client request to the node\'s response head', 'histogram', perNode((n) => {
        const h = traffic.histogram(n.id, 'ttfb');
        return histogramSamples('mcmp_edge_node_ttfb_seconds', { node: n.route }, BOUNDS_SECONDS, h.buckets, h.sumSeconds);
      })),
      new CollectedMetric('mcmp_edge_node_request_duration_seconds', 'Time from the client request until the exchange was over', 'histogram', perNode((n) => {
        const h = traffic.histogram(n.id, 'total');
        return histogramSamples('mcmp_edge_node_request_duration_seconds', { node: n.route }, BOUNDS_SECONDS, h.buckets, h.sumSeconds);
      })),
      new CollectedMetric('mcmp_edge_mcmp_messages_total', 'MCMP messages by command and result (ok, refused, forbidden)', 'counter', () =>
        [...mcmp.messages()].map((m) => ({ labels: { command: m.command, result: m.result }, value: m.count })),
      ),
      new CollectedMetric('mcmp_edge_mcmp_refusals_total', 'Refused MCMP messages by command and reason (the error id: SMESPAR, MNODEUI, ...)', 'counter', () =>
        [...mcmp.refusals()].map((m) => ({ labels: { command: m.command, reason: m.reason }, value: m.count })),
      ),
      new CollectedMetric('mcmp_edge_thread_restarts_total', 'Forwarding threads that died and were replaced, by thread slot', 'counter', () =>
        this.#s.threadRestarts().map((count, thread) => ({ labels: { thread }, value: count })),
      ),
      new CollectedMetric('mcmp_edge_thread_event_loop_utilization', 'Share of the last second each forwarding thread\'s event loop was busy (0..1)', 'gauge', () =>
        this.#s.threadRestarts().map((_, thread) => ({ labels: { thread }, value: traffic.loopUtilisation(thread) })),
      ),
    ];
  }
}

/** "node/vhost" → the vhost's first alias, the name people know it by. */
function firstAliases(state: ClusterState): Map<string, string> {
  const out = new Map<string, string>();
  for (const h of state.hosts()) {
    const key = `${h.node}/${h.vhost}`;
    if (!out.has(key)) out.set(key, h.alias);
  }
  return out;
}
