// The TLS settings built from the command line: plain data, so that the
// forwarding threads get them through structured clone, and one check
// (checkTlsFiles) used both at start and on every reload.
import { TlsConfigError } from './errors';
import { checkKeyPair, readCertificates, readPassphrase, type KeyPairInfo } from './files';

export interface TlsListen {
  readonly host: string;
  readonly port: number;
}

/** One more certificate, chosen when the client's SNI is `name` (`*.example.com` matches one label). */
export interface SniEntry {
  readonly name: string;
  readonly cert: string;
  readonly key: string;
}

/** HTTPS at the edge (the SSLApp of every forwarding thread). */
export interface EdgeTlsSettings {
  readonly listen: readonly TlsListen[];
  readonly cert: string;
  readonly key: string;
  /** Of every key file (edge, SNI, manager) that is encrypted. */
  readonly passphraseFile: string | undefined;
  readonly sni: readonly SniEntry[];
  /** Client certificates are asked for and, when sent, must chain to this CA file. */
  readonly clientCa: string | undefined;
}

/** MCMP (and the status page) over TLS. */
export interface ManagerTlsSettings {
  readonly cert: string;
  readonly key: string;
  readonly passphraseFile: string | undefined;
  /** Workers must present a certificate chaining to this CA before any byte of MCMP is read. */
  readonly clientCa: string | undefined;
}

/** The TLS flags as parsed (files not read yet). */
export interface TlsFlags {
  readonly listenTls: readonly TlsListen[];
  readonly cert: string | undefined;
  readonly key: string | undefined;
  readonly passphraseFile: string | undefined;
  readonly sni: readonly string[];
  readonly clientCa: string | undefined;
  readonly clientVerify: string | undefined;
  readonly upstreamCa: string | undefined;
  readonly managerTls: boolean;
  readonly managerCert: string | undefined;
  readonly managerKey: string | undefined;
  readonly managerClientCa: string | undefined;
}

export interface TlsSettings {
  readonly edge: EdgeTlsSettings | null;
  readonly manager: ManagerTlsSettings | null;
  /** Added to the CA store that node certificates are verified against. */
  readonly upstreamCa: string | undefined;
}

export const CLIENT_VERIFY_MODES = ['request'] as const;

/** Host names as TLS SNI carries them, optionally with one leading `*.` label. */
const SNI_NAME = /^(\*\.)?(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)*[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

export function parseSniEntry(value: string): SniEntry {
  const m = /^([^=]+)=([^,]+),(.+)$/.exec(value);
  if (m === null || !SNI_NAME.test(m[1] as string)) {
    throw new TlsConfigError(`--tls-sni: bad value ${JSON.stringify(value)}; expected NAME=CERT,KEY with a host name or *.domain, e.g. --tls-sni shop.example=shop.pem,shop.key`);
  }
  return { name: (m[1] as string).toLowerCase(), cert: m[2] as string, key: m[3] as string };
}

/** Builds the settings from the flags and checks the combinations (files are read by checkTlsFiles). */
export function tlsSettingsFrom(f: TlsFlags): TlsSettings {
  let edge: EdgeTlsSettings | null = null;
  if (f.listenTls.length > 0) {
    if (f.cert === undefined || f.key === undefined) throw new TlsConfigError(`--listen-tls: needs ${f.cert === undefined ? '--tls-cert' : '--tls-key'} FILE`);
    const sni = f.sni.map(parseSniEntry);
    const seen = new Set<string>();
    for (const e of sni) {
      if (seen.has(e.name)) throw new TlsConfigError(`--tls-sni: ${e.name} is given twice`);
      seen.add(e.name);
    }
    if (f.clientVerify !== undefined && !(CLIENT_VERIFY_MODES as readonly string[]).includes(f.clientVerify)) {
      throw new TlsConfigError(
        `--tls-client-verify: bad value ${JSON.stringify(f.clientVerify)}; expected request (uWebSockets.js 20.30 asks for a client certificate and refuses one that does not verify, but cannot refuse a client that sends none, so require is not offered at the edge)`,
      );
    }
    if (f.clientVerify !== undefined && f.clientCa === undefined) throw new TlsConfigError('--tls-client-verify: needs --tls-client-ca FILE');
    edge = { listen: f.listenTls, cert: f.cert, key: f.key, passphraseFile: f.passphraseFile, sni, clientCa: f.clientCa };
  } else {
    for (const [flag, given] of [
      ['--tls-sni', f.sni.length > 0],
      ['--tls-client-ca', f.clientCa !== undefined],
      ['--tls-client-verify', f.clientVerify !== undefined],
    ] as const) {
      if (given) throw new TlsConfigError(`${flag}: needs --listen-tls HOST:PORT`);
    }
    if ((f.cert !== undefined || f.key !== undefined) && !f.managerTls) {
      throw new TlsConfigError(`${f.cert !== undefined ? '--tls-cert' : '--tls-key'}: needs --listen-tls HOST:PORT or --manager-tls`);
    }
  }
  let manager: ManagerTlsSettings | null = null;
  if (f.managerTls) {
    const cert = f.managerCert ?? f.cert;
    const key = f.managerKey ?? f.key;
    if (cert === undefined || key === undefined) {
      throw new TlsConfigError(`--manager-tls: needs ${cert === undefined ? '--manager-cert (or --tls-cert)' : '--manager-key (or --tls-key)'} FILE`);
    }
    manager = { cert, key, passphraseFile: f.passphraseFile, clientCa: f.managerClientCa };
  } else {
    for (const [flag, given] of [
      ['--manager-cert', f.managerCert !== undefined],
      ['--manager-key', f.managerKey !== undefined],
      ['--manager-client-ca', f.managerClientCa !== undefined],
    ] as const) {
      if (given) throw new TlsConfigError(`${flag}: needs --manager-tls`);
    }
  }
  if (f.passphraseFile !== undefined && edge === null && manager === null) throw new TlsConfigError('--tls-passphrase-file: needs --listen-tls or --manager-tls');
  return { edge, manager, upstreamCa: f.upstreamCa };
}

export interface CheckedTls {
  /** One entry per key pair checked, for the start-up and reload log lines. */
  readonly pairs: ReadonlyArray<{ readonly use: string } & KeyPairInfo>;
  /** The PEM text of --upstream-ca, when given. */
  readonly upstreamCaPem: string | undefined;
}

/**
 * Opens and checks every file the settings name: certificates parse, keys
 * decrypt and match their certificate, CA files hold certificates. Throws
 * TlsConfigError (one line) at the first problem.
 */
export function checkTlsFiles(s: TlsSettings): CheckedTls {
  const pairs: Array<{ use: string } & KeyPairInfo> = [];
  const passphraseOf = (file: string | undefined): string | undefined => (file === undefined ? undefined : readPassphrase('--tls-passphrase-file', file));
  if (s.edge !== null) {
    const pass = passphraseOf(s.edge.passphraseFile);
    pairs.push({ use: 'edge', ...checkKeyPair(s.edge, pass, { cert: '--tls-cert', key: '--tls-key' }) });
    for (const e of s.edge.sni) pairs.push({ use: `sni ${e.name}`, ...checkKeyPair(e, pass, { cert: `--tls-sni ${e.name}`, key: `--tls-sni ${e.name}` }) });
    if (s.edge.clientCa !== undefined) readCertificates('--tls-client-ca', s.edge.clientCa);
  }
  if (s.manager !== null) {
    const pass = passphraseOf(s.manager.passphraseFile);
    pairs.push({ use: 'manager', ...checkKeyPair(s.manager, pass, { cert: '--manager-cert', key: '--manager-key' }) });
    if (s.manager.clientCa !== undefined) readCertificates('--manager-client-ca', s.manager.clientCa);
  }
  let upstreamCaPem: string | undefined;
  if (s.upstreamCa !== undefined) upstreamCaPem = readCertificates('--upstream-ca', s.upstreamCa).map((c) => c.toString()).join('\n');
  return { pairs, upstreamCaPem };
}
