// The reset burst the Java worker sends after a proxy answers INFO (MCMP.md
// §8.3 step 2; mod_cluster's ResetRequestSourceImpl): CONFIG, then for each
// context what makes the proxy's state match this node's, with REMOVE-APPs
// for what the proxy knows and the node no longer has put first.
import type { InfoContextStatus, InfoVirtualHost } from '../mcmp/info-reply';
import { configRequest, contextRequest, nodeRequest, type McmpRequest, type NodeDescription } from './requests';

/** What the node wants for a context. */
export type ContextState = 'enabled' | 'disabled' | 'stopped';

/**
 * The proxy's view of this node's aliases and contexts. Java looks at the one
 * vhost holding the host name; with mod_proxy_cluster 2.x every alias has
 * its own vhost (§8.5), so Java would see an alias set that never matches
 * and remove the whole node on every reset. Here the vhosts holding any of
 * the node's aliases are merged; a context whose status differs between them
 * counts as unknown, so it is sent again. With one alias this is Java's rule.
 */
function proxyView(hosts: readonly InfoVirtualHost[], aliases: readonly string[]): { found: boolean; aliases: Set<string>; contexts: Map<string, InfoContextStatus | undefined> } {
  const mine = hosts.filter((h) => aliases.some((a) => h.aliases.has(a)));
  const seenAliases = new Set<string>();
  const contexts = new Map<string, InfoContextStatus | undefined>();
  for (const h of mine) {
    for (const a of h.aliases) seenAliases.add(a);
    for (const [path, status] of h.contexts) contexts.set(path, contexts.has(path) && contexts.get(path) !== status ? undefined : status);
  }
  for (const [path, status] of contexts) if (status !== undefined && mine.some((h) => !h.contexts.has(path))) contexts.set(path, undefined);
  return { found: mine.length > 0, aliases: seenAliases, contexts };
}

function sameSet(a: readonly string[], b: ReadonlySet<string>): boolean {
  return a.length === b.size && a.every((x) => b.has(x));
}

export function resetRequests(node: NodeDescription, states: ReadonlyMap<string, ContextState>, info: ReadonlyMap<string, readonly InfoVirtualHost[]>): McmpRequest[] {
  const requests: McmpRequest[] = [configRequest(node)];
  const view = proxyView(info.get(node.route) ?? [], node.aliases);
  const aliasesDiffer = view.found && !sameSet(node.aliases, view.aliases);
  const obsolete = new Set(view.contexts.keys());
  for (const context of states.keys()) obsolete.delete(context === '' ? '/' : context);
  // Java removes the whole node when the aliases differ or every known context is obsolete.
  const removeAll = aliasesDiffer || (obsolete.size > 0 && obsolete.size === view.contexts.size);
  // After REMOVE-APP /* the proxy knows no context, so every one is sent again
  // (Java keeps the INFO view here and so leaves enabled contexts out).
  const known = removeAll ? new Map<string, InfoContextStatus | undefined>() : view.contexts;
  for (const [context, state] of states) {
    const path = context === '' ? '/' : context;
    const status = known.get(path);
    if (state === 'enabled' && status !== 'ENABLED') requests.push(contextRequest('ENABLE-APP', node.route, node.aliases, path));
    else if (state === 'disabled' && status !== 'DISABLED') requests.push(contextRequest('DISABLE-APP', node.route, node.aliases, path));
    else if (state === 'stopped' && (status === 'ENABLED' || status === undefined)) requests.push(contextRequest('STOP-APP', node.route, node.aliases, path));
  }
  if (removeAll) requests.unshift(nodeRequest('REMOVE-APP', node.route));
  else for (const path of obsolete) requests.unshift(contextRequest('REMOVE-APP', node.route, view.aliases, path));
  return requests;
}
