// Reads a plain DUMP reply (src/mcmp/commands/reports.ts writes it, one record
// per line) into records for `mcmp-edge ctl dump --json` and its tables.

export interface DumpReply {
  balancers: Array<{ id: number; name: string; sticky: boolean; cookie: string; path: string; remove: boolean; force: boolean; timeout: number; maxAttempts: number }>;
  nodes: Array<{ id: number; route: string; balancer: string; domain: string; host: string; port: number; type: string; ping: number; smax: number; ttl: number; timeout: number }>;
  hosts: Array<{ id: number; alias: string; vhost: number; node: number }>;
  contexts: Array<{ id: number; path: string; vhost: number; node: number; status: number }>;
}

const BALANCER = /^balancer: \[(\d+)\] Name: (.*) Sticky: (\d) \[(.*)\]\/\[(.*)\] remove: (\d) force: (\d) Timeout: (\d+) maxAttempts: (\d+)$/;
const HOST = /^host: (\d+) \[(.*)\] vhost: (\d+) node: (\d+)$/;
const CONTEXT = /^context: (\d+) \[(.*)\] vhost: (\d+) node: (\d+) status: (\d+)$/;

export function parseDumpReply(text: string): DumpReply {
  const out: DumpReply = { balancers: [], nodes: [], hosts: [], contexts: [] };
  for (const line of text.split(/\r?\n/)) {
    let m: RegExpExecArray | null;
    if ((m = BALANCER.exec(line)) !== null) {
      out.balancers.push({
        id: Number(m[1]),
        name: m[2] as string,
        sticky: m[3] === '1',
        cookie: m[4] as string,
        path: m[5] as string,
        remove: m[6] === '1',
        force: m[7] === '1',
        timeout: Number(m[8]),
        maxAttempts: Number(m[9]),
      });
    } else if (line.startsWith('node: ')) {
      // node: [id:id],Balancer: b,JVMRoute: r,LBGroup: [d],Host: h,Port: p,Type: t,...
      const parts = line.split(',');
      const fields = new Map(parts.slice(1).map((p) => [p.slice(0, p.indexOf(':')), p.slice(p.indexOf(':') + 1).trim()] as const));
      out.nodes.push({
        id: Number(/\[(\d+)/.exec(parts[0] as string)?.[1] ?? -1),
        route: fields.get('JVMRoute') ?? '',
        balancer: fields.get('Balancer') ?? '',
        domain: (fields.get('LBGroup') ?? '').replace(/^\[(.*)\]$/, '$1'),
        host: fields.get('Host') ?? '',
        port: Number(fields.get('Port')),
        type: fields.get('Type') ?? '',
        ping: Number(fields.get('ping')),
        smax: Number(fields.get('smax')),
        ttl: Number(fields.get('ttl')),
        timeout: Number(fields.get('timeout')),
      });
    } else if ((m = HOST.exec(line)) !== null) {
      out.hosts.push({ id: Number(m[1]), alias: m[2] as string, vhost: Number(m[3]), node: Number(m[4]) });
    } else if ((m = CONTEXT.exec(line)) !== null) {
      out.contexts.push({ id: Number(m[1]), path: m[2] as string, vhost: Number(m[3]), node: Number(m[4]), status: Number(m[5]) });
    }
  }
  return out;
}
