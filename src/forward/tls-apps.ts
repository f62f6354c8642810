// The HTTPS listeners of one forwarding thread: one uWS SSLApp per
// --listen-tls address (so that each knows the port it serves, for
// X-Forwarded-Port), SNI certificates as server names with their own router.
//
// A running SSLApp cannot swap its default certificate (uWS 20.30 has no call
// for it), so a reload builds new Apps from the files, binds them to the same
// addresses (SO_REUSEPORT, the kernel spreads new connections over old and new
// for an instant) and then closes the old listen sockets: connections already
// open finish on the old App, every new handshake gets the new certificate.
import type { TemplatedApp, us_listen_socket, us_socket } from 'uWebSockets.js';
import type { Uws } from '../../native-bindings/uws';
import type { Logger } from '../log';
import type { EdgeTlsSettings, TlsListen } from '../tls/settings';
import { edgeAppOptions } from '../tls/uws-options';
import { ListenError } from './errors';
import type { ClientListener } from './request/headers';

/** Adds the thread's routes (requests and WebSocket upgrades) to an App. */
export type RegisterRoutes = (app: TemplatedApp, listener: ClientListener) => void;

interface Listening {
  readonly address: TlsListen;
  readonly app: TemplatedApp;
  socket: us_listen_socket | null;
}

export class EdgeTlsApps {
  readonly #uws: Uws;
  readonly #settings: EdgeTlsSettings;
  readonly #register: RegisterRoutes;
  readonly #logger: Logger;
  #listening: Listening[] = [];
  /** Every App made (replaced ones keep serving the connections they have until closeAll). */
  readonly #apps: TemplatedApp[] = [];

  constructor(uws: Uws, settings: EdgeTlsSettings, register: RegisterRoutes, logger: Logger) {
    this.#uws = uws;
    this.#settings = settings;
    this.#register = register;
    this.#logger = logger;
  }

  /** Builds the Apps and binds every address (ports never 0: the pool resolved them). */
  async listen(passphrase: string | undefined): Promise<void> {
    this.#listening = await this.#bind(passphrase);
  }

  /**
   * New handshakes get the certificates now in the files; open connections
   * stay. Resolves false (and keeps the current Apps) when an App cannot be
   * built or bound.
   */
  async reload(passphrase: string | undefined): Promise<boolean> {
    let next: Listening[];
    try {
      next = await this.#bind(passphrase);
    } catch (err) {
      this.#logger.warn({ err: (err as Error).message }, 'TLS reload refused in this thread; the previous certificates stay');
      return false;
    }
    const old = this.#listening;
    this.#listening = next;
    for (const l of old) this.#closeSocket(l);
    return true;
  }

  /** Accepts again after closeListenSockets (the accept back-off): the current Apps listen on their ports again. */
  relisten(): void {
    for (const l of this.#listening) {
      if (l.socket !== null) continue;
      l.app.listen(l.address.host, l.address.port, (socket) => {
        if (socket === false) this.#logger.warn({ port: l.address.port }, 'cannot listen again on an HTTPS port; the other threads keep it');
        else if (l.socket === null && this.#listening.includes(l)) l.socket = socket;
        else this.#uws.us_listen_socket_close(socket);
      });
    }
  }

  /** Stops accepting (graceful stop, accept back-off). */
  closeListenSockets(): void {
    for (const l of this.#listening) this.#closeSocket(l);
  }

  /** Closes every socket of every App, old ones included. */
  closeAll(): void {
    this.closeListenSockets();
    // App.close() is in the native addon but not in the package's types.
    for (const app of this.#apps.splice(0)) (app as TemplatedApp & { close(): void }).close();
  }

  async #bind(passphrase: string | undefined): Promise<Listening[]> {
    const made: Listening[] = [];
    try {
      for (const address of this.#settings.listen) {
        const app = this.#build(address, passphrase);
        const entry: Listening = { address, app, socket: null };
        made.push(entry);
        entry.socket = await new Promise<us_listen_socket>((resolve, reject) => {
          app.listen(address.host, address.port, (socket) => (socket === false ? reject(new ListenError(address.host, address.port)) : resolve(socket)));
        });
      }
    } catch (err) {
      for (const l of made) {
        this.#closeSocket(l);
        (l.app as TemplatedApp & { close(): void }).close();
        this.#apps.splice(this.#apps.indexOf(l.app), 1);
      }
      throw err;
    }
    return made;
  }

  #build(address: TlsListen, passphrase: string | undefined): TemplatedApp {
    const options = edgeAppOptions(this.#settings, passphrase);
    const listener: ClientListener = { scheme: 'https', port: address.port };
    // uWS throws "App construction failed" for a file BoringSSL cannot use.
    const app = this.#uws.SSLApp(options.main);
    this.#apps.push(app);
    this.#register(app, listener);
    for (const sni of options.sni) {
      // Requests under a server name go to that name's own router: it needs the routes too.
      app.addServerName(sni.name, sni.options);
      app.domain(sni.name);
      this.#register(app, listener);
    }
    return app;
  }

  #closeSocket(l: Listening): void {
    if (l.socket === null) return;
    this.#uws.us_listen_socket_close(l.socket);
    l.socket = null;
  }

  /** The ports bound (for the 'listening' event and tests). */
  ports(): number[] {
    return this.#listening.map((l) => (l.socket === null ? 0 : this.#uws.us_socket_local_port(l.socket as unknown as us_socket)));
  }
}
