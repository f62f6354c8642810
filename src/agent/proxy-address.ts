// Where a proxy's MCMP endpoint is: `host:port`, `[v6]:port` or `host`
// (then the mcmp-edge default manager port), as in mod_cluster's proxyList.
import net from 'node:net';
import { AgentConfigError } from './errors';

/** mcmp-edge's --manager default. */
export const DEFAULT_MCMP_PORT = 6666;

export interface ProxyAddress {
  /** Without brackets. */
  readonly host: string;
  readonly port: number;
}

export type ProxyAddressInput = string | { readonly host: string; readonly port?: number };

function checkPort(port: number, text: string): number {
  if (!Number.isInteger(port) || port < 1 || port > 65535) throw new AgentConfigError(`proxy address ${text}: the port must be 1..65535`);
  return port;
}

export function parseProxyAddress(input: ProxyAddressInput): ProxyAddress {
  if (typeof input !== 'string') {
    const host = input.host.replace(/^\[(.*)\]$/, '$1');
    if (host === '') throw new AgentConfigError('proxy address: empty host');
    return { host, port: checkPort(input.port ?? DEFAULT_MCMP_PORT, `${input.host}`) };
  }
  const text = input.trim();
  const v6 = /^\[([^\]]+)\](?::(\d+))?$/.exec(text);
  if (v6 !== null) return { host: v6[1] as string, port: checkPort(v6[2] === undefined ? DEFAULT_MCMP_PORT : Number(v6[2]), text) };
  if (net.isIPv6(text)) return { host: text, port: DEFAULT_MCMP_PORT };
  const m = /^([^:\s]+)(?::(\d+))?$/.exec(text);
  if (m === null) throw new AgentConfigError(`proxy address ${JSON.stringify(input)}: expected host:port or [v6]:port`);
  return { host: m[1] as string, port: checkPort(m[2] === undefined ? DEFAULT_MCMP_PORT : Number(m[2]), text) };
}

/** `host:port` with IPv6 in brackets, as in a Host header. */
export function formatProxyAddress(a: ProxyAddress): string {
  return `${net.isIPv6(a.host) ? `[${a.host}]` : a.host}:${a.port}`;
}
