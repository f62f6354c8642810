// The values of the advertise directives (MCMP.md §7.4), read as
// mod_advertise reads them where it is strict, and stricter where it is not
// (atoi, any scheme): a bad value is a start-up error naming the directive.
// Each reader returns undefined for a value it does not accept.
import net from 'node:net';

export const ADVERTISE_DEFAULT_PORT = 23364;

export interface AdvertiseAddress {
  readonly host: string;
  readonly port: number;
  readonly family: 4 | 6;
}

export interface ServerAdvertiseValue {
  readonly on: boolean;
  /** `ServerAdvertise On scheme://host:port`: what workers are told, instead of --manager. */
  readonly address: { readonly scheme: 'http' | 'https'; readonly host: string; readonly port: number } | undefined;
}

function port(text: string | undefined, absent: number): number | undefined {
  if (text === undefined) return absent;
  if (!/^\d{1,5}$/.test(text)) return undefined;
  const n = Number(text);
  return n <= 65535 ? n : undefined;
}

/** `host[:port]` or `[v6][:port]`; host is a name or an IP literal. */
function hostPort(text: string): { host: string; port: string | undefined } | undefined {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([A-Za-z0-9._-]+))(?::(\d+))?$/.exec(text);
  if (m === null) return undefined;
  if (m[1] !== undefined && net.isIPv6(m[1]) === false) return undefined;
  return { host: m[1] ?? m[2]!, port: m[3] };
}

/** `On`, `Off`, or `On scheme://host:port` (scheme http or https, host and port required). */
export function readServerAdvertise(text: string): ServerAdvertiseValue | undefined {
  const words = text.trim().split(/\s+/);
  if (words.length > 2) return undefined;
  const mode = words[0]!.toLowerCase();
  if (mode !== 'on' && mode !== 'off') return undefined;
  if (words.length === 1) return { on: mode === 'on', address: undefined };
  const m = /^(https?):\/\/(.+)$/i.exec(words[1]!);
  const hp = m === null ? undefined : hostPort(m[2]!);
  const p = hp?.port === undefined ? undefined : port(hp.port, 0);
  if (m === null || hp === undefined || p === undefined || p === 0) return undefined;
  return { on: mode === 'on', address: { scheme: m[1]!.toLowerCase() as 'http' | 'https', host: hp.host, port: p } };
}

function isMulticast(host: string): 4 | 6 | undefined {
  if (net.isIPv4(host)) {
    const first = Number(host.split('.')[0]);
    return first >= 224 && first <= 239 ? 4 : undefined;
  }
  return net.isIPv6(host) && /^ff/i.test(host) ? 6 : undefined;
}

/** `group[:port]`: an IPv4 (224.0.0.0/4) or IPv6 (ff00::/8, in brackets) multicast group; port defaults to 23364. */
export function readAdvertiseGroup(text: string): AdvertiseAddress | undefined {
  const hp = hostPort(text.trim());
  if (hp === undefined) return undefined;
  const family = isMulticast(hp.host);
  const p = port(hp.port, ADVERTISE_DEFAULT_PORT);
  if (family === undefined || p === undefined || p === 0) return undefined;
  return { host: hp.host, port: p, family };
}

/** `address[:port]`: a local IP address to bind the sending socket to; port 0 or absent means 23364, as in httpd. */
export function readAdvertiseBindAddress(text: string): AdvertiseAddress | undefined {
  const hp = hostPort(text.trim());
  if (hp === undefined) return undefined;
  const family = net.isIP(hp.host);
  const p = port(hp.port, ADVERTISE_DEFAULT_PORT);
  if (family === 0 || p === undefined) return undefined;
  return { host: hp.host, port: p === 0 ? ADVERTISE_DEFAULT_PORT : p, family: family as 4 | 6 };
}

/**
 * `seconds[.ms]` or `seconds[,ms]`, in milliseconds. As in mod_advertise the
 * part after the separator is a count of milliseconds as written: `1.5` is
 * 1 s + 5 ms, `1.500` is 1.5 s. Zero is refused; at most a day.
 */
export function readAdvertiseFrequency(text: string): number | undefined {
  const m = /^(\d{1,6})(?:[.,](\d{1,3}))?$/.exec(text.trim());
  if (m === null) return undefined;
  const ms = Number(m[1]) * 1000 + Number(m[2] ?? 0);
  return ms > 0 && ms <= 86_400_000 ? ms : undefined;
}

/**
 * AdvertiseSecurityKey and AdvertiseManagerUrl go into the digest or the
 * datagram: printable ASCII only, because the Java listener hashes every
 * character from 127 up as '?', so a non-ASCII key would never verify.
 */
export function readAdvertiseText(text: string): string | undefined {
  return /^[\x21-\x7e](?:[\x20-\x7e]*[\x21-\x7e])?$/.test(text) && text.length <= 255 ? text : undefined;
}

/** AdvertiseInterface (ours): an IP address of a local interface, or an interface name. */
export function readAdvertiseInterface(text: string): string | undefined {
  const t = text.trim();
  return net.isIP(t) !== 0 || /^[A-Za-z0-9][A-Za-z0-9._:@-]{0,31}$/.test(t) ? t : undefined;
}

/** True for the addresses that mean "every local address". */
export function isWildcardHost(host: string): boolean {
  return host === '' || host === '0.0.0.0' || (net.isIPv6(host) && /^[0:]+$/.test(host));
}
