// Reading a plain INFO reply the way the Java worker does (MCMP.md §8.5,
// mod_cluster's DefaultMCMPResponseParser): nodes by slot id, then one virtual
// host per (node, vhost id) holding its aliases and its contexts with their
// status. The writing side of the format is src/mcmp/commands/reports.ts.

export type InfoContextStatus = 'ENABLED' | 'DISABLED' | 'STOPPED';

export interface InfoVirtualHost {
  readonly aliases: Set<string>;
  /** Context path → status. */
  readonly contexts: Map<string, InfoContextStatus>;
}

/** The reply is not shaped as Java needs it (Java throws and marks the proxy in error). */
export class InfoReplyError extends Error {
  readonly code = 'ERR_MCMP_INFO_REPLY';
  constructor(reason: string, line: string) {
    super(`INFO reply: ${reason}: ${line.slice(0, 200)}`);
  }
}

const STATUSES: ReadonlySet<string> = new Set(['ENABLED', 'DISABLED', 'STOPPED']);

function ids(entry: string, line: string): string[] {
  const start = entry.indexOf('[') + 1;
  const end = entry.indexOf(']');
  if (start >= end) throw new InfoReplyError('no [ids]', line);
  const inner = entry.slice(start, end);
  return inner.length > 2 ? inner.split(':') : [inner];
}

/** `Key: value` entries after the ids, trimmed; an entry without `:` is an error. */
function* entries(parts: string[], line: string): Generator<[string, string]> {
  for (let i = 1; i < parts.length; i++) {
    const entry = parts[i] as string;
    const colon = entry.indexOf(':');
    if (colon < 0) throw new InfoReplyError('entry without ":"', line);
    yield [entry.slice(0, colon).trim(), entry.slice(colon + 1).trim()];
  }
}

/** JVMRoute → its virtual hosts as the proxy reports them. */
export function parseInfoReply(text: string): Map<string, InfoVirtualHost[]> {
  const routeOfNode = new Map<string, string>();
  const hostsOfRoute = new Map<string, Map<string, InfoVirtualHost>>();
  for (const line of text.split(/\r\n|\r|\n/)) {
    const parts = line.split(',');
    if (line.startsWith('Node:')) {
      const nodeId = ids(parts[0] as string, line)[0] as string;
      for (const [key, value] of entries(parts, line)) {
        if (key === 'Name') {
          routeOfNode.set(nodeId, value);
          hostsOfRoute.set(value, new Map());
          break;
        }
      }
    } else if (line.startsWith('Vhost:') || line.startsWith('Context:')) {
      const idList = ids(parts[0] as string, line);
      if (idList.length !== 3) throw new InfoReplyError('expected [node:vhost:slot]', line);
      const [nodeId, vhostId] = idList as [string, string, string];
      const route = routeOfNode.get(nodeId);
      const hosts = route === undefined ? undefined : hostsOfRoute.get(route);
      if (hosts === undefined) throw new InfoReplyError('unknown node', line);
      if (line.startsWith('Vhost:')) {
        let host = hosts.get(vhostId);
        if (host === undefined) hosts.set(vhostId, (host = { aliases: new Set(), contexts: new Map() }));
        for (const [key, value] of entries(parts, line)) {
          if (key === 'Alias') {
            host.aliases.add(value);
            break;
          }
        }
      } else {
        const host = hosts.get(vhostId);
        if (host === undefined) throw new InfoReplyError('context of an unknown vhost', line);
        let path: string | undefined;
        let status: string | undefined;
        for (const [key, value] of entries(parts, line)) {
          if (key === 'Context') path = value;
          else if (key === 'Status') {
            if (!STATUSES.has(value)) throw new InfoReplyError(`unknown status ${value}`, line);
            status = value;
          }
        }
        if (path === undefined || status === undefined) throw new InfoReplyError('context without path or status', line);
        host.contexts.set(path, status as InfoContextStatus);
      }
    }
  }
  const out = new Map<string, InfoVirtualHost[]>();
  for (const [route, hosts] of hostsOfRoute) out.set(route, [...hosts.values()]);
  return out;
}

/** One `Node:` line of an INFO reply as its `Key: value` entries (Name, Balancer, Host, Port, Load, …). */
export interface InfoNode {
  readonly id: string;
  readonly fields: ReadonlyMap<string, string>;
}

/** The `Node:` lines of a plain INFO reply, in order (for operators' tools; Java reads only Name). */
export function parseInfoNodes(text: string): InfoNode[] {
  const out: InfoNode[] = [];
  for (const line of text.split(/\r\n|\r|\n/)) {
    if (!line.startsWith('Node:')) continue;
    const parts = line.split(',');
    out.push({ id: ids(parts[0] as string, line)[0] as string, fields: new Map(entries(parts, line)) });
  }
  return out;
}
