// mcmp-edge started through its command line (the contract in the bench
// brief), with the backend registered over real MCMP before any traffic.
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { McmpConnection, registerNode } from '../mcmp';
import { freePort, LOOPBACK, waitForPort } from '../net';
import { launchProxy } from './launch';
import type { RunningTarget, TargetContext, TargetSpec } from './types';

export const EDGE_CLI = path.resolve(__dirname, '../../../src/cli.js');

/**
 * Settings the bench passes by default. The backend is uWebSockets.js, whose
 * parser drops `OPTIONS *` without an answer, so the STATUS probe would mark
 * it in error; a Tomcat answers it. `--edge-set EnableOptions=On` restores it.
 */
export const DEFAULT_EDGE_SETS: readonly string[] = ['EnableOptions=Off'];

/** An upstream client forced with MCMP_EDGE_UPSTREAM (src/forward/upstream/upstreams.ts), or the proxy's default. */
export type EdgeUpstream = 'undici' | 'h1' | 'default';

export function mcmpEdgeLabel(threads: number, upstream: EdgeUpstream = 'default'): string {
  return upstream === 'default' ? `mcmp-edge ${threads}t` : `mcmp-edge ${threads}t ${upstream}`;
}

/** A node other than the uWS backend: the Tomcat of the AJP comparison, over HTTP or AJP. */
export interface EdgeNode {
  readonly type: 'http' | 'ajp';
  readonly contexts: readonly string[];
  readonly ready: { readonly path: string; readonly bytes: number };
}

/** Which build of mcmp-edge runs, and how node starts it. */
export interface EdgeBuild {
  /** Another checkout (`--baseline DIR`): its dist/src/cli.js runs, and the label ends with `@base`. */
  readonly checkout?: string;
  /** Node flags before the script (--profile: names for JIT code). */
  readonly nodeFlags?: readonly string[];
  /** More mcmp-edge flags (--tls: `--listen-tls` and its certificate). */
  readonly args?: readonly string[];
  /** More environment for the proxy process (--edge-env). */
  readonly env?: Readonly<Record<string, string>>;
  /** Said after the label when `args` make it another variant (--access-log: `+log json`). */
  readonly labelSuffix?: string;
}

/** The label suffix of the baseline build: no trailing `Nt`, so it is never the reference mcmp-edge of a ratio. */
export const BASELINE_SUFFIX = '@base';

export function edgeCli(checkout: string | undefined): string {
  return checkout === undefined ? EDGE_CLI : path.resolve(checkout, 'dist/src/cli.js');
}

export function mcmpEdgeTarget(threads: number, sets: readonly string[], upstream: EdgeUpstream = 'default', node?: EdgeNode, build: EdgeBuild = {}): TargetSpec {
  const plain = node === undefined ? mcmpEdgeLabel(threads, upstream) : `${mcmpEdgeLabel(threads, upstream)} ${node.type}`;
  const base = build.labelSuffix === undefined ? plain : `${plain} ${build.labelSuffix}`;
  const label = build.checkout === undefined ? base : `${base} ${BASELINE_SUFFIX}`;
  const cli = edgeCli(build.checkout);
  return {
    kind: 'mcmp-edge',
    label,
    unavailable: () => (existsSync(cli) ? undefined : `${cli} not found: that checkout is not built (npx tsc -p .)`),
    async start(ctx: TargetContext): Promise<RunningTarget> {
      const port = await freePort();
      const managerPort = await freePort();
      const args = [
        ...(build.nodeFlags ?? []),
        cli,
        '--listen', `${LOOPBACK}:${port}`,
        '--manager', `${LOOPBACK}:${managerPort}`,
        '--threads', String(threads),
        '--log-level', 'warn',
        ...sets.flatMap((s) => ['--set', s]),
        ...(build.args ?? []),
      ];
      const running = await launchProxy({
        label,
        kind: 'mcmp-edge',
        command: process.execPath,
        args,
        port,
        managerPort,
        env: upstream === 'default' && build.env === undefined ? undefined : { ...build.env, ...(upstream === 'default' ? {} : { MCMP_EDGE_UPSTREAM: upstream }) },
        ready: node?.ready,
        async afterListen() {
          if (!(await waitForPort(managerPort, 10_000))) throw new Error(`MCMP port ${managerPort} not listening`);
          const mcmp = await McmpConnection.open(managerPort);
          try {
            await registerNode(mcmp, { route: 'node1', port: ctx.backendPort, contexts: node?.contexts ?? ['/'], type: node?.type });
          } finally {
            mcmp.close();
          }
        },
      });
      if ((build.nodeFlags ?? []).length === 0 || running.pid === undefined) return running;
      // --perf-basic-prof* leaves /tmp/perf-PID.map behind.
      const mapFile = `/tmp/perf-${running.pid}.map`;
      return { ...running, stop: () => running.stop().finally(() => rmSync(mapFile, { force: true })) };
    },
  };
}
