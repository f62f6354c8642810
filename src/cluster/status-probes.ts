// The node check behind STATUS (MCMP.md §2.4, §5.9.2), shared between STATUS
// messages of the same node. httpd probes once per STATUS (isnode_up ->
// proxy_cluster_try_pingpong); a flood of STATUS for one node would then cost
// one connection each. Here:
//   - one probe in flight per node: STATUS arriving while it runs wait for it
//     and get its verdict (a check that finished after they arrived);
//   - a success is reused for `reuseMs` after it finished, unless the node was
//     put in error since the probe started (a request's connection failure,
//     a failed probe, Load -1): then the next STATUS probes again;
//   - a failure is never reused, so a node that comes back is seen at once.
// A node's identity (slot generation, route, type, host, port, ping) must
// match for a probe to be joined or reused: a re-registered node is probed anew.
import type { NodeProber } from './probe';
import type { NodeRow } from '../slots/rows';

export interface StatusProbesOptions {
  readonly prober: NodeProber;
  /** StatusProbeReuse: milliseconds a success answers later STATUS of the same node (0: never). */
  readonly reuseMs: () => number;
  /** Seconds since the epoch at which node n was last put in error (0: never): ClusterCounters.errorTime. */
  readonly errorTime: (n: number) => number;
  /** Milliseconds since the epoch (the clock errorTime is written with). */
  readonly now: () => number;
}

interface Verdict {
  /** The node as probed: a probe answers only for the same identity. */
  readonly generation: number;
  readonly route: string;
  readonly type: string;
  readonly host: string;
  readonly port: number;
  readonly pingUs: number;
  readonly startedAt: number;
  /** undefined while the probe runs. */
  finishedAt: number | undefined;
  ok: boolean;
  readonly pending: Promise<boolean>;
}

function sameNode(v: Verdict, node: NodeRow, generation: number): boolean {
  return v.generation === generation && v.route === node.route && v.type === node.type && v.host === node.host && v.port === node.port && v.pingUs === node.pingUs;
}

export class StatusProbes {
  readonly #o: StatusProbesOptions;
  /** node slot id → the last probe started for it. */
  readonly #last = new Map<number, Verdict>();
  #started = 0;

  constructor(o: StatusProbesOptions) {
    this.#o = o;
  }

  /** Probes actually started (the rest were joined or reused): for tests and the bench. */
  get started(): number {
    return this.#started;
  }

  /**
   * The verdict of a finished success that may still answer a STATUS for
   * this node (see the module comment), or undefined when the STATUS must
   * wait for a probe: then check() starts or joins one. Lets a STATUS flood
   * be answered without a promise per message.
   */
  known(node: NodeRow, generation: number): true | undefined {
    const last = this.#last.get(node.id);
    if (last === undefined || last.finishedAt === undefined || !last.ok || !sameNode(last, node, generation)) return undefined;
    return this.#stillGood(node.id, last) ? true : undefined;
  }

  /** Resolves true when the node passed a check that is recent enough (see the module comment); never rejects. */
  check(node: NodeRow, generation: number): Promise<boolean> {
    const last = this.#last.get(node.id);
    if (last !== undefined && sameNode(last, node, generation)) {
      if (last.finishedAt === undefined) return last.pending;
      if (last.ok && this.#stillGood(node.id, last)) return last.pending;
    }
    return this.#start(node, generation);
  }

  #stillGood(n: number, v: Verdict): boolean {
    const now = this.#o.now();
    if (now - (v.finishedAt as number) >= this.#o.reuseMs()) return false;
    // errorTime has one-second resolution: an error in the second the probe started may be later than it.
    return this.#o.errorTime(n) < Math.floor(v.startedAt / 1000);
  }

  #start(node: NodeRow, generation: number): Promise<boolean> {
    this.#started++;
    const pending = this.#o.prober.probe(node).then(
      (ok) => ok,
      () => false,
    );
    const v: Verdict = {
      generation,
      route: node.route,
      type: node.type,
      host: node.host,
      port: node.port,
      pingUs: node.pingUs,
      startedAt: this.#o.now(),
      finishedAt: undefined,
      ok: false,
      pending,
    };
    this.#last.set(node.id, v);
    void pending.then((ok) => {
      v.ok = ok;
      v.finishedAt = this.#o.now();
      // A failure is not kept: the next STATUS probes again.
      if (!ok && this.#last.get(node.id) === v) this.#last.delete(node.id);
    });
    return pending;
  }
}
