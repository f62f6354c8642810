// PING (MCMP.md §2.5): probes a node by route, or a scheme/host/port. It never
// changes any state. HTTP-type addresses can only be probed when a registered
// node lives there; AJP addresses get a CPING whatever they are.
import { FIELD_MAX } from '../../config/directives';
import { byteLength, FlushPackets, type NodeRow } from '../../slots/rows';
import type { McmpPair } from '../body';
import { McmpError } from '../errors';
import { unbracket } from '../../net/host';
import type { CommandContext, CommandResult } from './command';

const SCHEMES: ReadonlySet<string> = new Set(['ajp', 'http', 'https', 'ws', 'wss']);

/** PING's CPING timeout is fixed (MCMP.md §2.5). */
const AJP_PING_US = 10_000_000;

export interface PingMessage {
  readonly route: string | undefined;
  readonly scheme: string | undefined;
  readonly host: string | undefined;
  readonly port: string | undefined;
}

export function parsePing(pairs: readonly McmpPair[]): PingMessage {
  let route: string | undefined;
  let scheme: string | undefined;
  let host: string | undefined;
  let port: string | undefined;
  for (const [name, value] of pairs) {
    if (name === '') break; // parsing stops at the first empty name: an empty body has no parameters
    const key = name.toLowerCase();
    if (key !== 'jvmroute' && key !== 'scheme' && key !== 'host' && key !== 'port') throw new McmpError('SBADFLD', name);
    if (value === undefined) throw new McmpError('SMESPAR');
    switch (key) {
      case 'jvmroute':
        if (byteLength(value) > FIELD_MAX.jvmRoute) throw new McmpError('SROUBIG');
        route = value;
        break;
      case 'scheme':
        if (!SCHEMES.has(value.toLowerCase())) throw new McmpError('EPINGSCH', value);
        scheme = value.toLowerCase();
        break;
      case 'host':
        host = value;
        break;
      case 'port':
        port = value;
        break;
    }
  }
  return { route, scheme, host, port };
}

/** A registered, live node at this http/ws address (host compared case-insensitively, without brackets). */
function nodeAt(ctx: CommandContext, host: string, port: number): NodeRow | undefined {
  const wanted = unbracket(host).toLowerCase();
  return ctx.state.findNodeWhere((n) => !n.removed && n.type !== 'ajp' && n.port === port && unbracket(n.host).toLowerCase() === wanted);
}

async function probeAddress(ctx: CommandContext, scheme: string, host: string, portText: string): Promise<boolean> {
  const port = /^\d{1,5}$/.test(portText) ? Number(portText) : NaN;
  if (!(port >= 1 && port <= 65535)) return false;
  if (scheme === 'ajp') {
    const target: NodeRow = {
      id: -1,
      route: '',
      balancer: '',
      domain: '',
      host,
      port,
      type: 'ajp',
      upgrade: '',
      ajpSecret: '',
      reversed: false,
      flushPackets: FlushPackets.Off,
      flushWaitUs: 0,
      pingUs: AJP_PING_US,
      ttlUs: 0,
      timeoutUs: 0,
      smax: -1,
      responseFieldSize: 0,
      removed: false,
    };
    return ctx.prober.probe(target);
  }
  const node = nodeAt(ctx, host, port);
  return node === undefined ? false : ctx.prober.probe(node);
}

export async function pingCommand(ctx: CommandContext, pairs: readonly McmpPair[]): Promise<CommandResult> {
  const m = parsePing(pairs);
  let { scheme, host, port } = m;
  let removed = false;
  if (m.route !== undefined) {
    const node = ctx.state.findNode(m.route);
    if (node === undefined) throw new McmpError('MNODERD', m.route);
    // The route wins over any Scheme/Host/Port given with it.
    scheme = node.type;
    host = node.host;
    port = String(node.port);
    removed = node.removed;
  }
  let ok = true;
  if (scheme !== undefined || host !== undefined || port !== undefined) {
    if (scheme === undefined || host === undefined || port === undefined) throw new McmpError('SMISFLD');
    ok = !removed && (await probeAddress(ctx, scheme, host, port));
  }
  const verdict = ok ? 'OK' : 'NOTOK';
  const routePart = m.route !== undefined ? `&JVMRoute=${m.route}` : '';
  return { body: `Type=PING-RSP${routePart}&State=${verdict}&id=${ctx.startId}\n`, route: m.route, result: `State=${verdict}` };
}
