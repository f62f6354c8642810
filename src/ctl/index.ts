// `mcmp-edge ctl`: drive a proxy's MCMP endpoint from a terminal instead of
// `curl -X`. Requests go through the agent's MCMP client (the Java worker's
// way of sending them); replies are read with the INFO/DUMP/body parsers of
// src/mcmp, shown as tables or, with --json, as JSON.
import { parseArgs } from 'node:util';
import { McmpClient } from '../agent/mcmp-client';
import { McmpReplyError, McmpTransportError } from '../agent/errors';
import { parseProxyAddress } from '../agent/proxy-address';
import type { McmpMethod, McmpRequest } from '../agent/requests';
import { parseMcmpBody } from '../mcmp/body';
import { parseInfoNodes, parseInfoReply } from '../mcmp/info-reply';
import { parseDumpReply } from './dump';
import { renderTable } from './table';

export const CTL_USAGE = `mcmp-edge ctl [--manager HOST:PORT] [--json] COMMAND [ARGS]
  info                              nodes, their load and counters, virtual hosts and contexts (INFO)
  dump                              balancers, nodes, aliases and contexts as stored (DUMP)
  version                           the proxy's release and MCMP protocol version (VERSION)
  enable|disable|stop|remove NODE   every context of NODE (ENABLE-APP ... /*)
  enable|disable|stop|remove NODE CONTEXT ALIAS[,ALIAS...]
                                    one context of NODE's virtual host
  ping NODE | ping SCHEME://HOST:PORT
                                    ask the proxy to probe a node or an address (PING)
  --manager HOST:PORT               the proxy's MCMP address (default 127.0.0.1:6666)
  --json                            print the reply as JSON
  --timeout SECONDS                 give up on a reply after this long (default 20)`;

const APP: Readonly<Record<string, McmpMethod>> = { enable: 'ENABLE-APP', disable: 'DISABLE-APP', stop: 'STOP-APP', remove: 'REMOVE-APP' };

export class CtlUsageError extends Error {
  readonly code = 'ERR_MCMP_EDGE_CTL_USAGE';
}

export interface CtlOutput {
  out(text: string): void;
  err(text: string): void;
}

const stdio: CtlOutput = { out: (t) => process.stdout.write(t), err: (t) => process.stderr.write(t) };

/** Runs one ctl command; resolves with the exit code (0 done, 1 refused or unreachable, 2 bad command line). */
export async function runCtl(argv: readonly string[], io: CtlOutput = stdio): Promise<number> {
  let parsed;
  try {
    parsed = parseCtlArgs(argv);
  } catch (err) {
    if (err instanceof CtlUsageError) {
      io.err(`mcmp-edge ctl: ${err.message}\n`);
      return 2;
    }
    throw err;
  }
  if (parsed.help) {
    io.out(`${CTL_USAGE}\n`);
    return 0;
  }
  const client = new McmpClient(parsed.manager, { socketTimeoutMs: parsed.timeoutMs });
  try {
    io.out(await run(client, parsed.command, parsed.args, parsed.json));
    return 0;
  } catch (err) {
    if (err instanceof McmpReplyError) {
      io.err(`mcmp-edge ctl: ${err.method} refused: ${err.status}${err.type === undefined ? '' : ` ${err.type}`}${err.mess === undefined ? '' : `: ${err.mess}`}\n`);
      return 1;
    }
    if (err instanceof McmpTransportError) {
      io.err(`mcmp-edge ctl: cannot reach ${parsed.managerText}: ${err.cause.message}\n`);
      return 1;
    }
    if (err instanceof CtlUsageError) {
      io.err(`mcmp-edge ctl: ${err.message}\n`);
      return 2;
    }
    throw err;
  } finally {
    client.close();
  }
}

interface CtlArgs {
  help: boolean;
  json: boolean;
  manager: { host: string; port: number };
  managerText: string;
  timeoutMs: number;
  command: string;
  args: string[];
}

function parseCtlArgs(argv: readonly string[]): CtlArgs {
  let p;
  try {
    p = parseArgs({
      args: [...argv],
      allowPositionals: true,
      strict: true,
      options: { manager: { type: 'string' }, json: { type: 'boolean' }, timeout: { type: 'string' }, help: { type: 'boolean', short: 'h' } },
    });
  } catch (err) {
    const flag = /'(--?[\w-]+)/.exec((err as Error).message)?.[1] ?? '';
    throw new CtlUsageError(`${flag}: ${(err as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION' ? 'unknown flag' : 'needs a value'}; see mcmp-edge ctl --help`);
  }
  const [command = '', ...args] = p.positionals;
  if (p.values.help === true || command === 'help') return { help: true, json: false, manager: { host: '', port: 0 }, managerText: '', timeoutMs: 0, command: '', args: [] };
  if (command === '') throw new CtlUsageError('no command; expected info, dump, version, enable, disable, stop, remove or ping (see --help)');
  const managerText = p.values.manager ?? '127.0.0.1:6666';
  let manager;
  try {
    manager = parseProxyAddress(managerText);
  } catch {
    throw new CtlUsageError(`--manager: bad value ${JSON.stringify(managerText)}; expected HOST:PORT or [IPv6]:PORT`);
  }
  const timeoutText = p.values.timeout ?? '20';
  if (!/^\d+(\.\d+)?$/.test(timeoutText) || Number(timeoutText) <= 0 || Number(timeoutText) > 3600) {
    throw new CtlUsageError(`--timeout: bad value ${JSON.stringify(timeoutText)}; expected seconds 0..3600`);
  }
  return { help: false, json: p.values.json === true, manager, managerText, timeoutMs: Math.round(Number(timeoutText) * 1000), command, args };
}

function request(method: McmpMethod, route?: string, params: Record<string, string> = {}, wildcard = false): McmpRequest {
  return { method, wildcard, route, params };
}

const json = (value: unknown): string => `${JSON.stringify(value, null, 2)}\n`;

async function run(client: McmpClient, command: string, args: string[], asJson: boolean): Promise<string> {
  const expect = (n: number[], usage: string): void => {
    if (!n.includes(args.length)) throw new CtlUsageError(`${command}: expected ${usage}`);
  };
  switch (command) {
    case 'version': {
      expect([0], 'no argument');
      const body = (await client.send(request('VERSION'))).body;
      const m = /release: (.*), protocol: (.*)/.exec(body);
      return asJson ? json({ release: m?.[1] ?? '', protocol: m?.[2]?.trim() ?? '' }) : body;
    }
    case 'info': {
      expect([0], 'no argument');
      return formatInfo((await client.send(request('INFO'))).body, asJson);
    }
    case 'dump': {
      expect([0], 'no argument');
      return formatDump((await client.send(request('DUMP'))).body, asJson);
    }
    case 'ping': {
      expect([1], 'NODE or SCHEME://HOST:PORT');
      const target = args[0] as string;
      const url = /^(\w+):\/\/(\[[^\]]+\]|[^:/]+):(\d+)\/?$/.exec(target);
      const req = url === null ? request('PING', target) : request('PING', undefined, { Scheme: url[1] as string, Host: (url[2] as string).replace(/^\[(.*)\]$/, '$1'), Port: url[3] as string });
      const pairs = Object.fromEntries(parseMcmpBody((await client.send(req)).body.trim()));
      return asJson ? json(pairs) : `${target}: ${pairs.State ?? '?'}\n`;
    }
    default: {
      const method = APP[command];
      if (method === undefined) throw new CtlUsageError(`unknown command ${JSON.stringify(command)}; expected info, dump, version, enable, disable, stop, remove or ping`);
      expect([1, 3], 'NODE, or NODE CONTEXT ALIAS[,ALIAS...]');
      const [route, context, alias] = args as [string, string?, string?];
      const req = context === undefined ? request(method, route, {}, true) : request(method, route, { Context: context, Alias: alias ?? '' });
      const reply = (await client.send(req)).body;
      // STOP-APP answers with the requests still running (Requests=); the others with what they did.
      const pairs = reply.includes('&') ? Object.fromEntries(parseMcmpBody(reply.trim())) : undefined;
      if (asJson) return json({ command: method, node: route, ...(context !== undefined && { context, alias }), reply: pairs ?? reply.trim() });
      const what = context === undefined ? `every context of ${route}` : `${context} of ${route} (${alias ?? ''})`;
      const running = pairs?.Requests !== undefined ? `; requests still running: ${pairs.Requests}` : '';
      return `${method} ${what}: done${running}\n`;
    }
  }
}

function formatInfo(body: string, asJson: boolean): string {
  const nodes = parseInfoNodes(body).map((n) => ({
    id: Number(n.id),
    route: n.fields.get('Name') ?? '',
    balancer: n.fields.get('Balancer') ?? '',
    domain: n.fields.get('LBGroup') ?? '',
    host: n.fields.get('Host') ?? '',
    port: Number(n.fields.get('Port')),
    type: n.fields.get('Type') ?? '',
    load: Number(n.fields.get('Load')),
    elected: Number(n.fields.get('Elected')),
    read: Number(n.fields.get('Read')),
    transferred: Number(n.fields.get('Transfered')),
    connected: Number(n.fields.get('Connected')),
  }));
  const vhosts = [...parseInfoReply(body)].flatMap(([route, hosts]) =>
    hosts.map((h) => ({ node: route, aliases: [...h.aliases], contexts: [...h.contexts].map(([path, status]) => ({ path, status })) })),
  );
  if (asJson) return json({ nodes, vhosts });
  const nodeTable = renderTable(
    ['NODE', 'BALANCER', 'ADDRESS', 'TYPE', 'LOAD', 'ELECTED', 'BUSY', 'READ', 'SENT'],
    nodes.map((n) => [n.route, n.balancer, `${n.host.includes(':') ? `[${n.host}]` : n.host}:${n.port}`, n.type, String(n.load), String(n.elected), String(n.connected), String(n.read), String(n.transferred)]),
  );
  const contextTable = renderTable(
    ['NODE', 'ALIASES', 'CONTEXT', 'STATUS'],
    vhosts.flatMap((v) => v.contexts.map((c) => [v.node, v.aliases.join(','), c.path, c.status])),
  );
  return `${nodeTable}\n${contextTable}`;
}

function formatDump(body: string, asJson: boolean): string {
  const d = parseDumpReply(body);
  if (asJson) return json(d);
  const routes = new Map(d.nodes.map((n) => [n.id, n.route]));
  const status = ['', 'ENABLED', 'DISABLED', 'STOPPED'];
  return [
    renderTable(
      ['BALANCER', 'STICKY', 'COOKIE', 'PATH', 'REMOVE', 'FORCE', 'TIMEOUT', 'ATTEMPTS'],
      d.balancers.map((b) => [b.name, yesNo(b.sticky), b.cookie, b.path, yesNo(b.remove), yesNo(b.force), String(b.timeout), String(b.maxAttempts)]),
    ),
    renderTable(
      ['ID', 'NODE', 'BALANCER', 'DOMAIN', 'ADDRESS', 'TYPE', 'PING', 'SMAX', 'TTL', 'TIMEOUT'],
      d.nodes.map((n) => [String(n.id), n.route, n.balancer, n.domain, `${n.host}:${n.port}`, n.type, String(n.ping), String(n.smax), String(n.ttl), String(n.timeout)]),
    ),
    renderTable(['NODE', 'VHOST', 'ALIAS'], d.hosts.map((h) => [routes.get(h.node) ?? String(h.node), String(h.vhost), h.alias])),
    renderTable(['NODE', 'VHOST', 'CONTEXT', 'STATUS'], d.contexts.map((c) => [routes.get(c.node) ?? String(c.node), String(c.vhost), c.path, status[c.status] ?? String(c.status)])),
  ].join('\n');
}

function yesNo(b: boolean): string {
  return b ? 'yes' : 'no';
}
