// ENABLE-APP, DISABLE-APP, STOP-APP, REMOVE-APP (MCMP.md §2.3), node-wide for a
// wildcard target (`*` or ending in `/*`), per alias × context otherwise.
import { FIELD_MAX } from '../../config/directives';
import type { ClusterState } from '../../cluster/state';
import { byteLength, ContextStatus, type ContextRow, type NodeRow } from '../../slots/rows';
import type { McmpPair } from '../body';
import { McmpError } from '../errors';
import type { CommandContext, CommandResult } from './command';
import { aliasList, contextList } from './config';

export type AppVerb = 'ENABLE' | 'DISABLE' | 'STOP' | 'REMOVE';

const TARGET_STATUS: Readonly<Record<Exclude<AppVerb, 'REMOVE'>, ContextStatus>> = {
  ENABLE: ContextStatus.Enabled,
  DISABLE: ContextStatus.Disabled,
  STOP: ContextStatus.Stopped,
};

export interface AppMessage {
  readonly route: string;
  readonly aliases: readonly string[];
  readonly contexts: readonly string[];
}

/** Parameters of an APP command: JVMRoute, Alias, Context; other names are ignored. */
export function parseApp(pairs: readonly McmpPair[]): AppMessage {
  let route = '';
  const aliases: string[] = [];
  const contexts: string[] = [];
  for (const [name, value] of pairs) {
    const key = name.toLowerCase();
    if (key !== 'jvmroute' && key !== 'alias' && key !== 'context') continue;
    // C dereferences a null pointer here; a recognised name without value is a parse error.
    if (value === undefined) throw new McmpError('SMESPAR');
    if (key === 'jvmroute') {
      if (byteLength(value) > FIELD_MAX.jvmRoute) throw new McmpError('SROUBIG');
      route = value;
    } else if (key === 'alias') {
      aliases.push(...aliasList(value));
    } else {
      contexts.push(...contextList(value));
    }
  }
  return { route, aliases, contexts };
}

/** Validation order of §2.3, then the node lookup (missing or marked removed → MNODERD). */
function resolve(state: ClusterState, m: AppMessage, wildcard: boolean): NodeRow {
  if (m.route === '') throw new McmpError('SROUBAD');
  if (!wildcard) {
    if (m.aliases.length === 0 && m.contexts.length === 0) throw new McmpError('NOCONAL');
    if (m.contexts.length === 0) throw new McmpError('SALIBAD');
    if (m.aliases.length === 0) throw new McmpError('SCONBAD');
  }
  const node = state.findNode(m.route);
  if (node === undefined || node.removed) throw new McmpError('MNODERD', m.route);
  return node;
}

/** Applies `verb` to a node's contexts; REMOVE also marks the node removed. */
export function applyToNode(state: ClusterState, verb: AppVerb, node: NodeRow): void {
  state.transaction(() => {
    if (verb === 'REMOVE') {
      state.deleteHostsAndContexts(node.id);
      state.markRemoved(node.id);
      return;
    }
    for (const c of state.contextsOf(node.id)) state.putContext(c.path, c.vhost, c.node, TARGET_STATUS[verb]);
  });
}

interface AliasOutcome {
  readonly alias: string;
  readonly processed: string[];
}

function applyPerContext(ctx: CommandContext, verb: AppVerb, node: NodeRow, m: AppMessage): { outcomes: AliasOutcome[]; stopped: ContextRow[] } {
  const { state } = ctx;
  const outcomes: AliasOutcome[] = [];
  const stopped: ContextRow[] = [];
  let lastVhost = state.maxVhost(node.id);
  for (const alias of m.aliases) {
    let vhost = state.findHost(alias, node.id)?.vhost;
    if (vhost === undefined) {
      if (verb === 'REMOVE') continue;
      // 2.x: every new alias gets its own vhost id. A full table skips the alias silently.
      if (state.putHost(alias, lastVhost + 1, node.id) === undefined) continue;
      vhost = ++lastVhost;
    }
    const processed: string[] = [];
    for (const path of m.contexts) {
      if (verb === 'REMOVE') {
        const row = state.findContext(path, vhost, node.id);
        if (row !== undefined) state.deleteContext(row.id);
        processed.push(path);
        continue;
      }
      if (verb === 'ENABLE') warnOtherBalancer(ctx, node, path);
      const row = state.putContext(path, vhost, node.id, TARGET_STATUS[verb]);
      if (row === undefined) continue; // table full: silently missing from the reply
      processed.push(path);
      if (verb === 'STOP') stopped.push(row);
    }
    if (verb === 'REMOVE' && state.contextsOf(node.id, vhost).length === 0) {
      for (const h of state.hostsOf(node.id)) if (h.vhost === vhost) state.deleteHost(h.id);
    }
    outcomes.push({ alias, processed });
  }
  return { outcomes, stopped };
}

/** Diagnostic of §2.3 step 4: there is no balancing between balancers. */
function warnOtherBalancer(ctx: CommandContext, node: NodeRow, path: string): void {
  const { state } = ctx;
  // With a single balancer there is nothing to warn about: skip the scan of every context.
  if (state.balancers().length <= 1) return;
  for (const c of state.contexts()) {
    if (c.path !== path || c.status !== ContextStatus.Enabled || c.node === node.id) continue;
    const other = state.node(c.node);
    if (other !== undefined && other.balancer !== node.balancer) {
      ctx.logger.warn({ context: path, balancers: [node.balancer, other.balancer] }, 'ENABLE-APP: the same context is enabled in two balancers');
      return;
    }
  }
}

export function appCommand(ctx: CommandContext, verb: AppVerb, pairs: readonly McmpPair[], wildcard: boolean): CommandResult {
  const { state } = ctx;
  const m = parseApp(pairs);
  const node = resolve(state, m, wildcard);
  if (wildcard) {
    applyToNode(state, verb, node);
    return { body: '', route: m.route, result: 'node-wide' };
  }
  // The transaction is the version bump of §3.9: every APP command on a found node publishes.
  const { outcomes, stopped } = state.transaction(() => applyPerContext(ctx, verb, node, m));
  if (verb === 'STOP') {
    // Decision D5: the legacy one-line reply, whose Requests= drives Java's request draining.
    let requests = 0;
    for (const row of stopped) requests += state.counters.contextRequests(row.id);
    const body = `Type=STOP-APP-RSP&JvmRoute=${m.route}&Alias=${m.aliases.join(',')}&Context=${m.contexts.join(',')}&Requests=${requests}\n`;
    return { body, route: m.route, result: `Requests=${requests}` };
  }
  let body = `Type=${verb}-APP-RSP\nJvmRoute=${m.route}`;
  for (const o of outcomes) {
    if (o.processed.length > 0) body += `\nAlias=${o.alias} Contexts=${o.processed.join(',')}\n`;
  }
  body += '\n';
  return { body, route: m.route };
}
