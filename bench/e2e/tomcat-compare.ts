// `--node-types ajp`: the same Tomcat (Debian's tomcat10) behind mcmp-edge
// registered as Type=http and as Type=ajp, side by side, with the Tomcat served
// directly as the ceiling and httpd's mod_proxy_http / mod_proxy_ajp as the
// peer when httpd is installed. Same scenarios, interleaved rounds and
// medians as the uWS-backend runs; the bodies come from the echo webapp
// (?size=N&cl=1: N bytes with Content-Length).
import { startTomcat, tomcatMissing, type Tomcat } from '../../test/helpers/tomcat';
import type { BenchOptions } from '../args';
import { scenarioList } from '../args';
import { BODY_SIZES, type BodySize } from './backend';
import type { LoadGenerator } from './load';
import { runScenario, warmUp, type ScenarioOptions, type ScenarioResult } from './scenarios';
import { PROFILE_NODE_FLAGS } from './profile';
import { httpdTarget } from './targets/httpd';
import { DEFAULT_EDGE_SETS, mcmpEdgeTarget } from './targets/mcmp-edge';
import type { RunningTarget, TargetSpec } from './targets/types';

const CONTEXT = '/demo';

function pathFor(size: BodySize): string {
  return `${CONTEXT}/b?size=${BODY_SIZES[size]}&cl=1`;
}

const PATHS: Record<BodySize, string> = { small: pathFor('small'), medium: pathFor('medium'), large: pathFor('large'), chunked: `${CONTEXT}/b?size=${BODY_SIZES.chunked}` };
const READY = { path: PATHS.small, bytes: BODY_SIZES.small };

export interface TomcatComparisonDeps {
  readonly gen: LoadGenerator;
  readonly tmpDir: string;
  readonly print: (line: string) => void;
  /** Reports a target that could not run (its label and why). */
  readonly skip: (target: string, reason: string) => void;
  readonly fail: (message: string) => void;
  /** --profile: one more run of one of `running` under perf after a scenario's rounds. */
  readonly profile?: (running: readonly RunningTarget[], sc: ReturnType<typeof scenarioList>[number], so: ScenarioOptions) => Promise<void>;
}

export async function runTomcatComparison(o: BenchOptions, d: TomcatComparisonDeps): Promise<ScenarioResult[]> {
  const missing = tomcatMissing();
  if (missing !== null) {
    d.print(`skipped the AJP comparison: ${missing}`);
    d.skip('tomcat (ajp)', missing);
    return [];
  }
  const threads = Math.max(...o.threads);
  const edgeSets = [...DEFAULT_EDGE_SETS, ...o.edgeSets];
  const nodeFlags = o.profile ? PROFILE_NODE_FLAGS : [];
  const ajp = { type: 'ajp', contexts: [CONTEXT], ready: READY } as const;
  let tomcat: Tomcat | undefined;
  const running: RunningTarget[] = [];
  const results: ScenarioResult[] = [];
  try {
    // A JIT that reaches its top tier and a heap that does not collect all the time: a server, not a test.
    tomcat = await startTomcat({ jvmRoute: 'bench', jvmArgs: ['-Xms512m', '-Xmx512m', '-XX:+UseParallelGC'] });
    d.print(`\nAJP comparison: Tomcat pid ${tomcat.pid}, HTTP ${tomcat.httpPort}, AJP ${tomcat.ajpPort}`);
    const specs: Array<{ spec: TargetSpec; port: number }> = [
      { spec: { kind: 'direct', label: 'tomcat direct', unavailable: () => undefined, start: async (ctx) => ({ label: 'tomcat direct', kind: 'direct', port: ctx.backendPort, pid: undefined, stop: () => Promise.resolve() }) }, port: tomcat.httpPort },
      { spec: mcmpEdgeTarget(threads, edgeSets, 'default', { type: 'http', contexts: [CONTEXT], ready: READY }, { nodeFlags }), port: tomcat.httpPort },
      // --baseline: the other build with the same AJP node, in the same rounds (before/after of the AJP client).
      ...(o.baseline !== undefined ? [{ spec: mcmpEdgeTarget(threads, edgeSets, 'default', ajp, { checkout: o.baseline, nodeFlags }), port: tomcat.ajpPort }] : []),
      { spec: mcmpEdgeTarget(threads, edgeSets, 'default', ajp, { nodeFlags }), port: tomcat.ajpPort },
    ];
    if (o.peers.includes('httpd')) {
      specs.push({ spec: httpdTarget({ scheme: 'http', label: 'httpd http', ready: READY }), port: tomcat.httpPort });
      specs.push({ spec: httpdTarget({ scheme: 'ajp', label: 'httpd ajp', ready: READY }), port: tomcat.ajpPort });
    }
    for (const { spec, port } of specs) {
      const why = spec.unavailable();
      if (why !== undefined) {
        d.print(`skipped ${spec.label}: ${why}`);
        d.skip(spec.label, why);
        continue;
      }
      try {
        running.push(await spec.start({ backendPort: port, tmpDir: d.tmpDir }));
        d.print(`started ${spec.label}`);
      } catch (e) {
        const msg = (e instanceof Error ? e.message : String(e)).split('\n')[0] as string;
        d.print(`FAILED to start ${spec.label}: ${msg}`);
        d.skip(spec.label, msg);
        if (spec.kind === 'mcmp-edge') d.fail(`${spec.label}: ${msg}`);
      }
    }
    const so: ScenarioOptions = { gen: d.gen, connections: o.connections, durationSec: o.durationSec, rounds: o.rounds, warmupSec: o.warmupSec, backendPid: tomcat.pid, print: d.print, paths: PATHS };
    await warmUp(running, so);
    for (const sc of scenarioList(o)) {
      d.print('');
      const r = await runScenario(sc, running, so);
      results.push({ ...r, name: `Tomcat ${r.name}` });
      await d.profile?.(running, sc, so);
      for (const t of r.targets) {
        if (t.failure !== undefined && t.kind === 'mcmp-edge') d.fail(`${t.label} in Tomcat ${r.name}: ${t.failure.split('\n')[0] as string}`);
      }
    }
  } finally {
    await Promise.all(running.map((t) => t.stop()));
    await tomcat?.stop();
  }
  return results;
}
