// A populated cluster for the micro benches, built the way the primary builds
// it (directives -> slot tables -> counters -> ClusterState -> McmpHandler)
// and filled with real MCMP messages, so the tables hold what a real cluster
// would publish. No network: http probes are off (EnableOptions Off).
import { resolveDirectives, type Directives } from '../../src/config/directives';
import { NetProber } from '../../src/cluster/probe';
import { ClusterState } from '../../src/cluster/state';
import { createLogger } from '../../src/log';
import { McmpHandler, type McmpReply } from '../../src/mcmp/handler';
import { ClusterCounters } from '../../src/slots/counters';
import { SlotTables, tableSizes } from '../../src/slots/tables';

export interface ClusterFixture {
  readonly directives: Directives;
  readonly tables: SlotTables;
  readonly counters: ClusterCounters;
  readonly state: ClusterState;
  readonly handler: McmpHandler;
  /** Sends one MCMP message; rejects unless the reply is 200. */
  mcmp(method: string, body: string, target?: string): Promise<McmpReply>;
}

export class FixtureError extends Error {
  readonly code = 'ERR_BENCH_FIXTURE';
  constructor(message: string) {
    super(message);
    this.name = 'FixtureError';
  }
}

export function createCluster(settings: ReadonlyArray<readonly [string, unknown]>): ClusterFixture {
  const directives = resolveDirectives([['EnableOptions', false], ...settings]);
  const sizes = tableSizes(directives);
  const tables = SlotTables.create(sizes);
  const counters = new ClusterCounters(sizes.maxNode, sizes.maxContext);
  const state = new ClusterState({ directives, publisher: tables.publisher, counters });
  const prober = new NetProber({ enableOptions: directives.EnableOptions, maxConcurrent: directives.ModProxyClusterThreadCount });
  const handler = new McmpHandler({ state, directives, prober, startTimeUs: Date.now() * 1000, logger: createLogger('silent') });
  return {
    directives,
    tables,
    counters,
    state,
    handler,
    async mcmp(method, body, target = '/') {
      const r = await handler.handle({ methodUpper: method, target, accept: '', body: Buffer.from(body, 'latin1'), bodyTooLarge: false, peer: '127.0.0.1' });
      if (r.status !== 200) throw new FixtureError(`${method} ${body.slice(0, 80)} -> ${r.status} ${r.headers.map(([k, v]) => `${k}: ${v}`).join('; ')}`);
      return r;
    },
  };
}

export function nodesLabel(n: number): string {
  return n === 1 ? '1 node' : `${n} nodes`;
}

/** Context path of app `i`. */
export function appPath(i: number): string {
  return `/app${i}`;
}

/**
 * `nodes` nodes that each serve the same `apps` contexts (the usual shape:
 * every node of a cluster deploys the same applications), so there are
 * nodes × apps context rows; every node then reports Load=50 over MCMP.
 *
 * Filling 10 000 contexts with ENABLE-APP messages takes tens of seconds, so
 * the rows are cloned from a one-node cluster registered over MCMP (the row
 * shapes and defaults stay exactly what the commands write) and loaded with
 * ClusterState.restore(), the persistence path, which publishes them.
 */
export async function createAppCluster(nodes: number, apps: number): Promise<ClusterFixture> {
  const aliases = ['localhost', 'app.example.com'];
  const template = createCluster([]);
  await template.mcmp('CONFIG', 'JVMRoute=node0&Host=10.0.0.1&Port=8080&Type=http');
  await template.mcmp('ENABLE-APP', `JVMRoute=node0&Alias=${aliases.join(',')}&Context=${appPath(0)}`);
  const t = template.state.snapshot();
  const [node, balancer, context] = [t.nodes[0], t.balancers[0], t.contexts[0]];
  if (node === undefined || balancer === undefined || context === undefined) throw new FixtureError('the template cluster has no node, balancer or context row');
  const f = createCluster([
    ['Maxnode', nodes],
    ['Maxhost', Math.max(20, nodes * aliases.length)],
    ['Maxcontext', Math.max(100, nodes * apps)],
  ]);
  const skipped = f.state.restore({
    balancers: [balancer],
    nodes: Array.from({ length: nodes }, (_, i) => ({ ...node, id: i, route: `node${i}`, host: `10.0.${i >> 8}.${i & 255}` })),
    hosts: Array.from({ length: nodes * aliases.length }, (_, i) => ({ id: i, alias: aliases[i % aliases.length] as string, vhost: 1, node: Math.floor(i / aliases.length) })),
    contexts: Array.from({ length: nodes * apps }, (_, i) => ({ ...context, id: i, path: appPath(i % apps), vhost: 1, node: Math.floor(i / apps) })),
    sessions: [],
  });
  if (skipped !== 0) throw new FixtureError(`${skipped} rows did not fit the tables`);
  for (let n = 0; n < nodes; n++) await f.mcmp('STATUS', `JVMRoute=node${n}&Load=50`);
  return f;
}
