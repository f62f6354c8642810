// INFO, DUMP and VERSION (MCMP.md §2.6–§2.8). Java parses the plain INFO
// format (§8.5), so its shape is exact: nodes, then vhosts, then contexts, in
// slot order, `[ids]` first, `Key: value` entries separated by commas.
import { PROTOCOL_VERSION, RELEASE } from '../../config/directives';
import type { ClusterState } from '../../cluster/state';
import { FlushPackets, type ContextStatus, type NodeRow } from '../../slots/rows';
import type { CommandContext, CommandResult } from './command';

const XML_HEAD = '<?xml version="1.0" standalone="yes" ?>\n';

/** Decision D18: values are escaped in XML (C does not). */
const XML_ENTITIES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };

export function xmlEscape(text: string): string {
  return text.replace(/[&<>"']/g, (c) => XML_ENTITIES[c] ?? c);
}

export function flushPacketsName(f: FlushPackets): string {
  return f === FlushPackets.On ? 'On' : f === FlushPackets.Auto ? 'Auto' : 'Off';
}

export function contextStatusName(s: ContextStatus | number): string {
  return s === 1 ? 'ENABLED' : s === 2 ? 'DISABLED' : s === 3 ? 'STOPPED' : 'REMOVED';
}

const ms = (us: number): number => Math.floor(us / 1000);
const sec = (us: number): number => Math.floor(us / 1_000_000);

/** The worker statistics INFO shows for a node (§2.6). */
function stats(state: ClusterState, n: NodeRow): { elected: number; read: bigint; transferred: bigint; connected: number; load: number } {
  const c = state.counters;
  return { elected: c.elected(n.id) >>> 0, read: c.read(n.id), transferred: c.transferred(n.id), connected: c.busy(n.id), load: c.lbfactor(n.id) };
}

export function formatInfo(state: ClusterState, xml: boolean): string {
  const nodes = state.nodes();
  const hosts = state.hosts();
  const contexts = state.contexts();
  if (!xml) {
    let out = '';
    for (const n of nodes) {
      const s = stats(state, n);
      out += `Node: [${n.id}],Name: ${n.route},Balancer: ${n.balancer},LBGroup: ${n.domain},Host: ${n.host},Port: ${n.port},Type: ${n.type}`;
      out += `,Flushpackets: ${flushPacketsName(n.flushPackets)},Flushwait: ${ms(n.flushWaitUs)},Ping: ${sec(n.pingUs)},Smax: ${n.smax},Ttl: ${sec(n.ttlUs)}`;
      out += `,Elected: ${s.elected},Read: ${s.read},Transfered: ${s.transferred},Connected: ${s.connected},Load: ${s.load}\n`;
    }
    for (const h of hosts) out += `Vhost: [${h.node}:${h.vhost}:${h.id}], Alias: ${h.alias}\n`;
    for (const c of contexts) out += `Context: [${c.node}:${c.vhost}:${c.id}], Context: ${c.path}, Status: ${contextStatusName(c.status)}\n`;
    return out;
  }
  const x = xmlEscape;
  let out = `${XML_HEAD}<Info><Nodes>`;
  for (const n of nodes) {
    const s = stats(state, n);
    out += `<Node id="${n.id}" name="${x(n.route)}"><Balancer>${x(n.balancer)}</Balancer><LBGroup>${x(n.domain)}</LBGroup><Host>${x(n.host)}</Host><Port>${n.port}</Port><Type>${n.type}</Type>`;
    out += `<Flushpackets>${flushPacketsName(n.flushPackets)}</Flushpackets><Flushwait>${ms(n.flushWaitUs)}</Flushwait><Ping>${sec(n.pingUs)}</Ping><Smax>${n.smax}</Smax><Ttl>${sec(n.ttlUs)}</Ttl>`;
    out += `<Elected>${s.elected}</Elected><Read>${s.read}</Read><Transfered>${s.transferred}</Transfered><Connected>${s.connected}</Connected><Load>${s.load}</Load></Node>`;
  }
  out += '</Nodes><Vhosts>';
  for (const h of hosts) out += `<Vhost id="${h.vhost}" alias="${x(h.alias)}"><Node id="${h.node}"/></Vhost>`;
  out += '</Vhosts><Contexts>';
  for (const c of contexts) {
    out += `<Context id="${c.id}"><Status id="${c.status}">${contextStatusName(c.status)}</Status><Context>${x(c.path)}</Context><Node id="${c.node}"/><Vhost id="${c.vhost}"/></Context>`;
  }
  return `${out}</Contexts></Info>`;
}

export function formatDump(state: ClusterState, xml: boolean): string {
  const bit = (b: boolean): number => (b ? 1 : 0);
  if (!xml) {
    let out = '';
    for (const b of state.balancers()) {
      out += `balancer: [${b.id}] Name: ${b.name} Sticky: ${bit(b.stickySession)} [${b.stickySessionCookie}]/[${b.stickySessionPath}] remove: ${bit(b.stickySessionRemove)} force: ${bit(b.stickySessionForce)} Timeout: ${sec(b.waitWorkerUs)} maxAttempts: ${b.maxAttempts}\n`;
    }
    for (const n of state.nodes()) {
      out += `node: [${n.id}:${n.id}],Balancer: ${n.balancer},JVMRoute: ${n.route},LBGroup: [${n.domain}],Host: ${n.host},Port: ${n.port},Type: ${n.type},flushpackets: ${n.flushPackets},flushwait: ${ms(n.flushWaitUs)},ping: ${sec(n.pingUs)},smax: ${n.smax},ttl: ${sec(n.ttlUs)},timeout: ${sec(n.timeoutUs)}\n`;
    }
    for (const h of state.hosts()) out += `host: ${h.id} [${h.alias}] vhost: ${h.vhost} node: ${h.node}\n`;
    for (const c of state.contexts()) out += `context: ${c.id} [${c.path}] vhost: ${c.vhost} node: ${c.node} status: ${c.status}\n`;
    return out;
  }
  const x = xmlEscape;
  let out = `${XML_HEAD}<Dump><Balancers>`;
  for (const b of state.balancers()) {
    out += `<Balancer id="${b.id}" name="${x(b.name)}"><StickySession><Enabled>${bit(b.stickySession)}</Enabled><Cookie>${x(b.stickySessionCookie)}</Cookie><Path>${x(b.stickySessionPath)}</Path><Remove>${bit(b.stickySessionRemove)}</Remove><Force>${bit(b.stickySessionForce)}</Force></StickySession><Timeout>${sec(b.waitWorkerUs)}</Timeout><MaxAttempts>${b.maxAttempts}</MaxAttempts></Balancer>`;
  }
  out += '</Balancers><Nodes>';
  for (const n of state.nodes()) {
    out += `<Node id="${n.id}"><Balancer>${x(n.balancer)}</Balancer><JVMRoute>${x(n.route)}</JVMRoute><LBGroup>${x(n.domain)}</LBGroup><Host>${x(n.host)}</Host><Port>${n.port}</Port><Type>${n.type}</Type><FlushPackets>${n.flushPackets}</FlushPackets><FlushWait>${ms(n.flushWaitUs)}</FlushWait><Ping>${sec(n.pingUs)}</Ping><Smax>${n.smax}</Smax><Ttl>${sec(n.ttlUs)}</Ttl><Timeout>${sec(n.timeoutUs)}</Timeout></Node>`;
  }
  out += '</Nodes><Hosts>';
  for (const h of state.hosts()) out += `<Host id="${h.id}" alias="${x(h.alias)}"><Vhost>${h.vhost}</Vhost><Node>${h.node}</Node></Host>`;
  out += '</Hosts><Contexts>';
  for (const c of state.contexts()) {
    out += `<Context id="${c.id}" path="${x(c.path)}"><Vhost>${c.vhost}</Vhost><Node>${c.node}</Node><Status id="${c.status}">${contextStatusName(c.status)}</Status></Context>`;
  }
  return `${out}</Contexts></Dump>`;
}

export function formatVersion(xml: boolean): string {
  return xml
    ? `${XML_HEAD}<version><release>${RELEASE}</release><protocol>${PROTOCOL_VERSION}</protocol></version>\n`
    : `release: ${RELEASE}, protocol: ${PROTOCOL_VERSION}\n`;
}

const contentType = (xml: boolean): string => (xml ? 'text/xml' : 'text/plain');

export function infoCommand(ctx: CommandContext): CommandResult {
  return { body: formatInfo(ctx.state, ctx.wantsXml), contentType: contentType(ctx.wantsXml) };
}

export function dumpCommand(ctx: CommandContext): CommandResult {
  return { body: formatDump(ctx.state, ctx.wantsXml), contentType: contentType(ctx.wantsXml) };
}

export function versionCommand(ctx: CommandContext): CommandResult {
  return { body: formatVersion(ctx.wantsXml), contentType: contentType(ctx.wantsXml) };
}
