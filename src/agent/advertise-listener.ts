// Proxy discovery by advertise (MCMP.md §4.4), as the Java listener does it:
// join the multicast group, read each datagram the way Java reads it and
// check its digest with the shared key (src/advertise/datagram.ts is the one
// module for that format); the first valid datagram of a new `Server` UUID
// names a proxy by its X-Manager-Address. Later datagrams of the same server,
// and its 403/410 shutdown datagrams, change nothing.
import dgram from 'node:dgram';
import { EventEmitter } from 'node:events';
import net from 'node:net';
import {
  DEFAULT_ADVERTISE_GROUP,
  DEFAULT_ADVERTISE_PORT,
  AdvertisementError,
  parseAdvertisement,
  parseManagerAddress,
  verifyAdvertisementDigest,
  type Advertisement,
} from '../advertise/datagram';
import type { ProxyAddress } from './proxy-address';

export interface AdvertiseOptions {
  /** Multicast group (default 224.0.1.105). */
  readonly group?: string;
  /** UDP port (default 23364). */
  readonly port?: number;
  /** Local address of the interface to join the group on (default: the system's choice). */
  readonly interface?: string;
  /** AdvertiseSecurityKey of the proxies; without it the digest is checked against the keyless salt. */
  readonly securityKey?: string;
}

export interface AdvertiseListenerEvents {
  /** A new proxy was advertised. */
  proxy: [address: ProxyAddress, advertisement: Advertisement];
  /** A datagram was dropped, and why (for logs). */
  dropped: [reason: string];
}

export class AdvertiseListener extends EventEmitter<AdvertiseListenerEvents> {
  readonly #opts: AdvertiseOptions;
  readonly #servers = new Set<string>();
  #socket: dgram.Socket | undefined;

  constructor(opts: AdvertiseOptions = {}) {
    super();
    this.#opts = opts;
  }

  /** Binds the port and joins the group. */
  async start(): Promise<void> {
    const group = this.#opts.group ?? DEFAULT_ADVERTISE_GROUP;
    const socket = dgram.createSocket({ type: net.isIPv6(group) ? 'udp6' : 'udp4', reuseAddr: true });
    this.#socket = socket;
    socket.on('message', (msg) => this.#receive(msg));
    await new Promise<void>((resolve, reject) => {
      socket.once('error', reject);
      socket.bind(this.#opts.port ?? DEFAULT_ADVERTISE_PORT, () => {
        socket.removeListener('error', reject);
        resolve();
      });
    });
    socket.on('error', (err) => this.emit('dropped', `socket error: ${err.message}`));
    socket.addMembership(group, this.#opts.interface);
  }

  close(): void {
    this.#socket?.close();
    this.#socket = undefined;
  }

  #receive(datagram: Buffer): void {
    let ad: Advertisement;
    try {
      ad = parseAdvertisement(datagram);
    } catch (err) {
      if (err instanceof AdvertisementError) return void this.emit('dropped', err.message);
      throw err;
    }
    if (!verifyAdvertisementDigest(ad, this.#opts.securityKey)) return void this.emit('dropped', `bad digest from server ${ad.server}`);
    if (this.#servers.has(ad.server) || ad.managerAddress === undefined) return;
    let address: ProxyAddress;
    try {
      address = parseManagerAddress(ad.managerAddress);
    } catch (err) {
      return void this.emit('dropped', (err as Error).message);
    }
    if (!(address.port >= 1 && address.port <= 65535)) return void this.emit('dropped', `X-Manager-Address without a port: ${ad.managerAddress}`);
    this.#servers.add(ad.server);
    this.emit('proxy', address, ad);
  }
}
