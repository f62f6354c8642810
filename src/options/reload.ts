// What a SIGHUP reload of --config may change while the proxy runs, and what
// it must keep. The primary reads most directives when it uses them (the
// maintenance tick, CONFIG, the status page), so a new value simply applies
// from then on; the routing directives are sent to the forwarding threads.
// Table sizes, listeners and threads are fixed at start: a change there is
// named in a warning and the running value is kept.
import type { ProxyOptions } from './args';
import { DIRECTIVES, type Directives } from '../config/directives';

/** Directives the primary reads at each use: a new value applies from the next use. */
const LIVE_IN_PRIMARY: ReadonlySet<string> = new Set([
  'ManagerBalancerName',
  'EnableWsTunnel',
  'WSUpgradeHeader',
  'AJPSecret',
  'ResponseFieldSize',
  'CheckNonce',
  'AllowDisplay',
  'AllowCmd',
  'ReduceDisplay',
  'LBstatusRecalTime',
  'WaitBeforeRemove',
  'NodeTimeout',
  'StatusProbeReuse',
]);

/** Directives of the routing decision, sent to every forwarding thread. */
const LIVE_IN_THREADS: ReadonlySet<string> = new Set(['UseAlias', 'ResponseStatusCodeOnNoContext', 'DeterministicFailover']);

/** Options that change live (the allow lists and the log level); the rest of ProxyOptions is fixed at start. */
const LIVE_OPTIONS: ReadonlySet<string> = new Set(['allow', 'pageAllow', 'logLevel', 'directives', 'argv', 'ignoredConfig']);

export function isLiveOption(key: string): boolean {
  return LIVE_OPTIONS.has(key);
}

/** How an option is spelled on the command line, for the warning. */
const FLAG: Readonly<Record<string, string>> = {
  listen: '--listen',
  manager: '--manager',
  threads: '--threads',
  managerPath: '--manager-path',
  docroot: '--docroot',
  drainTimeoutMs: '--drain-timeout',
  accessLog: '--access-log',
  managerKeepAliveTimeoutMs: 'KeepAliveTimeout',
};

export interface ReloadPlan {
  /** New values of live directives (applied to the running directive object). */
  readonly directives: Partial<Record<keyof Directives, unknown>>;
  readonly routingChanged: boolean;
  readonly allowChanged: boolean;
  readonly logLevel: string | undefined;
  /** What changed in the file but cannot change while running (kept as it is). */
  readonly kept: readonly string[];
  /** Everything that changed and was applied, by name. */
  readonly applied: readonly string[];
}

export function planReload(current: ProxyOptions, next: ProxyOptions): ReloadPlan {
  const directives: Record<string, unknown> = {};
  const kept: string[] = [];
  const applied: string[] = [];
  let routingChanged = false;
  const cur = current.directives as unknown as Record<string, unknown>;
  const nxt = next.directives as unknown as Record<string, unknown>;
  for (const { name } of DIRECTIVES) {
    if (cur[name] === nxt[name]) continue;
    if (LIVE_IN_PRIMARY.has(name) || LIVE_IN_THREADS.has(name)) {
      directives[name] = nxt[name];
      applied.push(name);
      if (LIVE_IN_THREADS.has(name)) routingChanged = true;
    } else {
      kept.push(name);
    }
  }
  const curOpts = current as unknown as Record<string, unknown>;
  const nextOpts = next as unknown as Record<string, unknown>;
  for (const key of new Set([...Object.keys(curOpts), ...Object.keys(nextOpts)])) {
    if (LIVE_OPTIONS.has(key)) continue;
    if (JSON.stringify(curOpts[key]) !== JSON.stringify(nextOpts[key])) kept.push(FLAG[key] ?? key);
  }
  const allowChanged = current.allow !== next.allow || current.pageAllow !== next.pageAllow;
  if (allowChanged) applied.push('allow lists');
  const logLevel = current.logLevel !== next.logLevel ? next.logLevel : undefined;
  if (logLevel !== undefined) applied.push('log level');
  return { directives, routingChanged, allowChanged, logLevel, kept, applied };
}
