// The advertise sender of the primary thread (MCMP.md §4.3): one UDP socket
// bound to AdvertiseBindAddress, the datagram sent at once on start, every
// AdvertiseFrequency, and at once on a status change (the 403 and 410 packets
// of a stop, as mod_advertise sends them).
import { randomUUID } from 'node:crypto';
import dgram from 'node:dgram';
import type { Logger } from '../log';
import { buildAdvertisement, nextSequence, type AdvertiseStatus, type ManagerFields } from './datagram';
import { formatManagerAddress, type AdvertiseSettings } from './settings';

export interface AdvertiseSenderOptions {
  readonly settings: AdvertiseSettings;
  /** Where --manager actually listens; its port is advertised when ServerAdvertise gave no address. */
  readonly managerListen: { readonly host: string; readonly port: number };
  readonly logger: Logger;
  /** The Server UUID of this run (default: a random one, as mod_advertise). */
  readonly serverId?: string;
}

/** What the status page shows about advertising (httpd's advertise_info). */
export interface AdvertiseDescription {
  readonly group: string;
  readonly groupPort: number;
  readonly scheme: string;
  readonly host: string;
  readonly port: number;
  readonly frequencySeconds: number;
  /** The MCMP listener (httpd's advertising virtual host). */
  readonly managerListen: { readonly host: string; readonly port: number };
}

/** The advertise socket cannot be set up as configured; the message names the directive. */
export class AdvertiseSocketError extends Error {
  readonly code = 'ERR_MCMP_EDGE_ADVERTISE_SOCKET';
  constructor(directive: string, value: string, cause: Error) {
    super(`${directive} ${value}: the advertise socket cannot use it (${cause.message})`);
    this.name = 'AdvertiseSocketError';
  }
}

export class AdvertiseSender {
  readonly serverId: string;
  readonly #settings: AdvertiseSettings;
  readonly #logger: Logger;
  readonly #manager: ManagerFields;
  readonly #port: number;
  readonly #managerListen: { readonly host: string; readonly port: number };
  #socket: dgram.Socket | undefined;
  #timer: NodeJS.Timeout | undefined;
  #sequence = 0n;
  #status: AdvertiseStatus = 200;
  #lastError: string | undefined;
  #stopping: Promise<void> | undefined;

  constructor(opts: AdvertiseSenderOptions) {
    const s = opts.settings;
    this.#settings = s;
    this.#logger = opts.logger;
    this.serverId = opts.serverId ?? randomUUID();
    this.#managerListen = opts.managerListen;
    this.#port = s.port ?? opts.managerListen.port;
    this.#manager = {
      address: formatManagerAddress(s.host, this.#port),
      url: s.managerUrl ?? `/${this.serverId}`,
      protocol: s.scheme,
      host: s.host,
    };
  }

  describe(): AdvertiseDescription {
    const s = this.#settings;
    return { group: s.group.host, groupPort: s.group.port, scheme: s.scheme, host: s.host, port: this.#port, frequencySeconds: Math.trunc(s.frequencyMs / 1000), managerListen: this.#managerListen };
  }

  /** Binds the socket and sends the first advertisement; rejects when the bind address cannot be used. */
  async start(): Promise<void> {
    const s = this.#settings;
    const socket = dgram.createSocket({ type: s.group.family === 6 ? 'udp6' : 'udp4', reuseAddr: true });
    // The socket is bound to the advertise port, so it may receive datagrams; they are not for us.
    socket.on('message', () => undefined);
    await new Promise<void>((resolve, reject) => {
      const failed = (err: Error): void => {
        socket.close();
        reject(new AdvertiseSocketError('AdvertiseBindAddress', formatManagerAddress(s.bind.host, s.bind.port), err));
      };
      socket.once('error', failed);
      socket.bind({ address: s.bind.host, port: s.bind.port }, () => {
        socket.off('error', failed);
        resolve();
      });
    });
    try {
      socket.setMulticastTTL(s.ttl);
      socket.setMulticastLoopback(true); // workers on this host hear it too
    } catch (err) {
      socket.close();
      throw new AdvertiseSocketError('AdvertiseTTL', String(s.ttl), err as Error);
    }
    if (s.multicastInterface !== undefined) {
      try {
        socket.setMulticastInterface(s.multicastInterface);
      } catch (err) {
        socket.close();
        throw new AdvertiseSocketError('AdvertiseInterface', s.multicastInterface, err as Error);
      }
    }
    socket.on('error', (err) => this.#logger.warn({ err }, 'advertise socket error'));
    this.#socket = socket;
    this.#logger.info(
      { group: formatManagerAddress(s.group.host, s.group.port), manager: this.#manager.address, server: this.serverId, everyMs: s.frequencyMs },
      'advertising',
    );
    this.#send();
    this.#timer = setInterval(() => this.#send(), s.frequencyMs);
    this.#timer.unref();
  }

  /** A status change is sent at once (mod_advertise's thread checks for it every 100 ms). */
  setStatus(status: AdvertiseStatus): void {
    if (status === this.#status) return;
    this.#status = status;
    this.#send();
  }

  /** Sends 403 then 410 (mod_advertise on a stop), waits for both to leave, closes the socket. */
  stop(): Promise<void> {
    this.#stopping ??= (async () => {
      if (this.#timer !== undefined) clearInterval(this.#timer);
      const socket = this.#socket;
      if (socket === undefined) return;
      this.#status = 403;
      const forbidden = this.#send();
      this.#status = 410;
      const gone = this.#send();
      await Promise.all([forbidden, gone]);
      this.#socket = undefined;
      await new Promise<void>((resolve) => socket.close(() => resolve()));
    })();
    return this.#stopping;
  }

  #send(): Promise<void> {
    const socket = this.#socket;
    if (socket === undefined) return Promise.resolve();
    this.#sequence = nextSequence(this.#sequence);
    const datagram = buildAdvertisement({
      status: this.#status,
      date: new Date(),
      sequence: this.#sequence,
      server: this.serverId,
      securityKey: this.#settings.securityKey,
      manager: this.#status === 200 ? this.#manager : undefined,
    });
    const { host, port } = this.#settings.group;
    return new Promise((resolve) => {
      socket.send(datagram, port, host, (err) => {
        const code = err === null || err === undefined ? undefined : ((err as NodeJS.ErrnoException).code ?? err.message);
        // One line per change of outcome, not one per period.
        if (code !== this.#lastError) {
          if (code !== undefined) this.#logger.warn({ err, group: `${host}:${port}` }, 'cannot send the advertisement; retrying every period');
          else if (this.#lastError !== undefined) this.#logger.info({ group: `${host}:${port}` }, 'advertisement sent again');
          this.#lastError = code;
        }
        resolve();
      });
    });
  }
}
