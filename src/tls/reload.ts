// SIGHUP for certificates: the files are checked again as at start; a pair
// that does not pass is refused with one warning and every listener keeps the
// certificate it has. Only then are the listeners told to take the new files.
import type { SecureContextOptions } from 'node:tls';
import type { Logger } from '../log';
import { TlsConfigError } from './errors';
import { readPassphrase } from './files';
import { managerTlsOptions } from './manager';
import { checkTlsFiles, type TlsSettings } from './settings';

export interface TlsReloadTargets {
  /** The forwarding threads' HTTPS listeners. */
  readonly edge: (passphrase: string | undefined) => Promise<{ reloaded: number; failed: number }>;
  /** The MCMP listener (new handshakes only). */
  readonly manager: (options: SecureContextOptions) => void;
}

export class TlsReloader {
  readonly #settings: TlsSettings;
  readonly #targets: TlsReloadTargets;
  readonly #logger: Logger;
  #running: Promise<boolean> | null = null;

  constructor(settings: TlsSettings, targets: TlsReloadTargets, logger: Logger) {
    this.#settings = settings;
    this.#targets = targets;
    this.#logger = logger;
  }

  /** Whether there is anything to reload. */
  get active(): boolean {
    return this.#settings.edge !== null || this.#settings.manager !== null;
  }

  /** Resolves true when every listener took the new files; a reload asked for while one runs joins it. */
  reload(): Promise<boolean> {
    this.#running ??= this.#reload().finally(() => {
      this.#running = null;
    });
    return this.#running;
  }

  async #reload(): Promise<boolean> {
    const s = this.#settings;
    if (!this.active) return true;
    let pairs;
    try {
      pairs = checkTlsFiles(s).pairs;
    } catch (err) {
      if (!(err instanceof TlsConfigError)) throw err;
      this.#logger.warn({ err: err.message }, 'TLS reload refused; the previous certificates stay');
      return false;
    }
    let ok = true;
    if (s.manager !== null) this.#targets.manager(managerTlsOptions(s.manager));
    if (s.edge !== null) {
      const passphrase = s.edge.passphraseFile === undefined ? undefined : readPassphrase('--tls-passphrase-file', s.edge.passphraseFile);
      const threads = await this.#targets.edge(passphrase);
      if (threads.failed > 0) {
        ok = false;
        this.#logger.warn(threads, 'TLS reload: some forwarding threads kept their previous certificates');
      }
    }
    this.#logger.info({ certificates: pairs.map((p) => `${p.use}: ${p.subject} until ${p.validTo}`) }, 'TLS certificates reloaded');
    return ok;
  }
}
