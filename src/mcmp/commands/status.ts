// STATUS (MCMP.md §2.4, §5.8): the node's load report. The node is probed
// first (except for Load -1) and the load applies only when the probe passes.
import { FIELD_MAX } from '../../config/directives';
import type { McmpPair } from '../body';
import { McmpError } from '../errors';
import { byteLength } from '../../slots/rows';
import type { CommandContext, CommandResult } from './command';

export interface StatusMessage {
  readonly route: string;
  /** undefined: no Load, "probe only" (C's internal -2). */
  readonly load: number | undefined;
}

/** `50abc` reads as 50; no leading number, or outside -1..100, is ELOADBAD. */
export function parseLoad(value: string): number {
  const m = /^[ \t]*([+-]?\d+)/.exec(value);
  const load = m === null ? NaN : Number(m[1]);
  if (!(load >= -1 && load <= 100)) throw new McmpError('ELOADBAD');
  return load;
}

export function parseStatus(pairs: readonly McmpPair[]): StatusMessage {
  let route = '';
  let load: number | undefined;
  for (const [name, value] of pairs) {
    const key = name.toLowerCase();
    // STATUS checks the name first: an empty body is `Invalid field ""`.
    if (key !== 'jvmroute' && key !== 'load') throw new McmpError('SBADFLD', name);
    if (value === undefined) throw new McmpError('SMESPAR');
    if (key === 'jvmroute') {
      if (byteLength(value) > FIELD_MAX.jvmRoute) throw new McmpError('SROUBIG');
      route = value;
    } else {
      load = parseLoad(value);
    }
  }
  if (route === '') throw new McmpError('ENOROUTE');
  return { route, load };
}

/**
 * Answers at once when the node's last probe still holds (StatusProbes.known):
 * a STATUS flood then costs no promise per message. Otherwise it waits for a
 * probe; both paths apply the verdict through afterProbe, so they answer alike.
 */
export function statusCommand(ctx: CommandContext, pairs: readonly McmpPair[]): CommandResult | Promise<CommandResult> {
  const { state } = ctx;
  const { route, load } = parseStatus(pairs);
  const node = state.findNode(route);
  if (node === undefined) throw new McmpError('MNODERD', route);
  const book = state.bookkeeping(node.id);
  book.lastStatusAt = state.now();
  book.silenceReported = false;
  const generation = book.generation;

  if (node.removed) return statusResult(ctx, route, load, false);
  if (load === -1) {
    // No probe: the node says its connector is down.
    state.counters.applyLoad(node.id, -1, Math.floor(state.now() / 1000));
    return statusResult(ctx, route, load, true);
  }
  const known = ctx.statusProbes.known(node, generation);
  if (known !== undefined) return statusResult(ctx, route, load, afterProbe(ctx, node.id, route, load, generation, known));
  return ctx.statusProbes.check(node, generation).then((probed) => statusResult(ctx, route, load, afterProbe(ctx, node.id, route, load, generation, probed)));
}

/** Applies a probe's verdict to node `id` if it is still the node probed; returns the STATUS verdict. */
function afterProbe(ctx: CommandContext, id: number, route: string, load: number | undefined, generation: number, probed: boolean): boolean {
  const { state } = ctx;
  // The slot may have changed hands while the probe ran; then nothing is applied.
  const still = state.node(id);
  const current = still !== undefined && still.route === route && !still.removed && state.bookkeeping(id).generation === generation;
  if (current) {
    const nowSeconds = Math.floor(state.now() / 1000);
    if (!probed) state.counters.markError(id, nowSeconds);
    else if (load !== undefined) state.counters.applyLoad(id, load, nowSeconds);
  }
  return probed && current;
}

function statusResult(ctx: CommandContext, route: string, load: number | undefined, ok: boolean): CommandResult {
  const verdict = ok ? 'OK' : 'NOTOK';
  return { body: `Type=STATUS-RSP&JVMRoute=${route}&State=${verdict}&id=${ctx.startId}\n`, route, result: `Load=${load ?? 'none'} State=${verdict}` };
}
