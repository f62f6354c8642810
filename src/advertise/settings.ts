// What the advertise directives and --manager add up to, checked once at
// start-up so that every mistake is one line naming the directive (exit 2)
// rather than a silent wrong address on the wire.
import os from 'node:os';
import {
  isWildcardHost,
  readAdvertiseBindAddress,
  readAdvertiseFrequency,
  readAdvertiseGroup,
  readServerAdvertise,
  type AdvertiseAddress,
} from '../config/advertise-values';
import { DirectiveError, type Directives } from '../config/directives';
import { AdvertisementError, buildAdvertisement } from './datagram';

export interface AdvertiseSettings {
  readonly group: AdvertiseAddress;
  readonly bind: AdvertiseAddress;
  readonly frequencyMs: number;
  readonly securityKey: string | undefined;
  /** X-Manager-Url; undefined: `/<server uuid>` as mod_advertise does. */
  readonly managerUrl: string | undefined;
  /** For setMulticastInterface: an IPv4 address, or `::%name` / an IPv6 address. */
  readonly multicastInterface: string | undefined;
  readonly ttl: number;
  readonly scheme: 'http' | 'https';
  /** The host workers are told; with `port` undefined the port --manager listens on is used (it may be ephemeral). */
  readonly host: string;
  readonly port: number | undefined;
}

/** `host:port`, with an IPv6 host in brackets (MCMP.md §4.1). */
export function formatManagerAddress(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

function resolveInterface(name: string, family: 4 | 6): string {
  const addrs = os.networkInterfaces()[name];
  if (addrs === undefined) {
    throw new DirectiveError(`AdvertiseInterface: no local interface or address ${JSON.stringify(name)}; expected an IP address or the name of a local interface`);
  }
  if (family === 6) return `::%${name}`;
  const v4 = addrs.find((a) => a.family === 'IPv4');
  if (v4 === undefined) throw new DirectiveError(`AdvertiseInterface: interface ${name} has no IPv4 address for an IPv4 AdvertiseGroup`);
  return v4.address;
}

/**
 * The advertise settings, or undefined when ServerAdvertise is Off. Throws
 * DirectiveError when --manager listens on a wildcard address and no
 * `ServerAdvertise On scheme://host:port` says which address workers should use.
 */
export function advertiseSettings(d: Directives, manager: { host: string; port: number }): AdvertiseSettings | undefined {
  const mode = readServerAdvertise(d.ServerAdvertise);
  if (mode === undefined || !mode.on) return undefined;
  const group = readAdvertiseGroup(d.AdvertiseGroup)!;
  let bind = readAdvertiseBindAddress(d.AdvertiseBindAddress)!;
  if (bind.family !== group.family) {
    if (!isWildcardHost(bind.host)) {
      throw new DirectiveError(`AdvertiseBindAddress: ${d.AdvertiseBindAddress} is IPv${bind.family} but AdvertiseGroup ${d.AdvertiseGroup} is IPv${group.family}; expected an address of the group's family`);
    }
    bind = { host: group.family === 6 ? '::' : '0.0.0.0', port: bind.port, family: group.family };
  }
  let host: string;
  let port: number | undefined;
  let scheme: 'http' | 'https' = 'http';
  if (mode.address !== undefined) {
    ({ host, port, scheme } = mode.address);
  } else if (isWildcardHost(manager.host)) {
    throw new DirectiveError(
      `ServerAdvertise: --manager ${formatManagerAddress(manager.host, manager.port)} listens on every address, so there is no one address to advertise; expected ServerAdvertise On http://HOST:PORT with the address workers reach, or --manager on a single address`,
    );
  } else {
    host = manager.host;
    port = manager.port === 0 ? undefined : manager.port;
  }
  const iface = d.AdvertiseInterface === '' ? undefined : d.AdvertiseInterface;
  const settings: AdvertiseSettings = {
    group,
    bind,
    frequencyMs: readAdvertiseFrequency(d.AdvertiseFrequency)!,
    securityKey: d.AdvertiseSecurityKey === '' ? undefined : d.AdvertiseSecurityKey,
    managerUrl: d.AdvertiseManagerUrl === '' ? undefined : d.AdvertiseManagerUrl,
    multicastInterface: iface === undefined ? undefined : /^[0-9.]+$|:/.test(iface) ? iface : resolveInterface(iface, group.family),
    ttl: d.AdvertiseTTL,
    scheme,
    host,
    port,
  };
  // The longest datagram this run can send must fit the Java listener's buffer.
  try {
    buildAdvertisement({
      date: new Date(),
      sequence: (1n << 63n) - 1n,
      server: '00000000-0000-0000-0000-000000000000',
      manager: { address: formatManagerAddress(host, port ?? 65535), url: settings.managerUrl ?? `/${'0'.repeat(36)}`, protocol: scheme, host },
    });
  } catch (err) {
    if (err instanceof AdvertisementError) {
      const name = err.code === 'ERR_MCMP_EDGE_ADVERTISE_TOO_LARGE' ? 'AdvertiseManagerUrl' : 'ServerAdvertise';
      throw new DirectiveError(`${name}: ${err.message}`);
    }
    throw err;
  }
  return settings;
}
