// The command line (a contract: these names are kept). Every bad flag or
// config value becomes one UsageError naming the flag and what it accepts.
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { advertiseSettings } from '../advertise/settings';
import { DIRECTIVES, DirectiveError, resolveDirectives, type DirectiveSpec, type Directives } from '../config/directives';
import { HttpdConfigError, looksLikeHttpd, readHttpdConfig, type HttpdSettings } from '../config/httpd/index';
import { LOG_LEVELS } from '../log';
import { TRAFFIC_LIMIT_DEFAULTS, type TrafficLimits } from '../forward/limits';
import { TlsConfigError } from '../tls/errors';
import { ACCESS_LOG_FORMATS, AccessLogSettingsError, accessLogSettings, type AccessLogSettings } from '../access-log/index';
import { tlsSettingsFrom, type TlsSettings } from '../tls/settings';

export class UsageError extends Error {
  readonly code = 'ERR_MCMP_EDGE_USAGE';
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

export interface HostPort {
  readonly host: string;
  readonly port: number;
}

export interface ProxyOptions {
  readonly listen: HostPort;
  readonly manager: HostPort;
  /** The --allow list as given; validated by the MCMP listener's AllowList. */
  readonly allow: string;
  readonly threads: number;
  readonly managerPath: string;
  readonly logLevel: string;
  readonly docroot: string | undefined;
  readonly drainTimeoutMs: number;
  /** Stalls of clients and nodes on the traffic side. */
  readonly limits: TrafficLimits;
  /** Client connections of the whole process; 'auto': derived from the descriptor limit at start. */
  readonly maxConnections: number | 'auto';
  /** MCMP/status connections held at once: workers hold one or two each, not hundreds. */
  readonly managerMaxConnections: number;
  readonly directives: Directives;
  /** Who may see the status page and /metrics, when an httpd config gives it its own list (else `allow`). */
  readonly pageAllow: string | undefined;
  /** Idle keep-alive timeout of the MCMP listener (httpd KeepAliveTimeout); undefined: the listener's default. */
  readonly managerKeepAliveTimeoutMs: number | undefined;
  /** What an httpd --config holds that has no effect here, "file:line: what (why)". */
  readonly ignoredConfig: readonly string[];
  /** The command line as given, so SIGHUP can read --config again with the same flags. */
  readonly argv: readonly string[];
  /** --listen-tls, --tls-*, --upstream-ca, --manager-tls/-cert/-key/-client-ca (files checked later, by src/tls). */
  readonly tls: TlsSettings;
  /** --access-log / AccessLog (with its format); null: no access log. */
  readonly accessLog: AccessLogSettings | null;
  /** --primary-nice / PrimaryNice: nice increment of the primary thread over the forwarding threads. */
  readonly primaryNice: number;
}


export type Command = { kind: 'help' } | { kind: 'version' } | { kind: 'run'; options: ProxyOptions };

export const USAGE = `mcmp-edge [options]
mcmp-edge ctl [--manager HOST:PORT] [--json] info|dump|version|enable|disable|stop|remove|ping ...   (see mcmp-edge ctl --help)
  --listen HOST:PORT        client traffic                      (default 0.0.0.0:8000)
  --manager HOST:PORT       MCMP and the status page           (default 0.0.0.0:6666)
  --allow CIDR[,CIDR...]    who may send MCMP or see the page  (default 127.0.0.0/8,::1)
  --threads N               forwarding threads                  (default: number of CPUs)
  --manager-path PATH       status page path                    (default /mod_cluster-manager)
  --config FILE             JSON or YAML (keys are directive names), or an httpd configuration file
  --set NAME=VALUE          any directive below (repeatable), e.g. --set Maxnode=100
  --docroot DIR             serve static files from DIR for requests no context matches
  --drain-timeout SECONDS   on SIGTERM/SIGINT, wait this long for in-flight requests (default 10)
  --max-connections N|auto  client connections held at once, all threads (default auto: from the fd limit)
  --send-timeout SECONDS    drop a client that reads nothing of its response for this long (default 60)
  --receive-timeout SECONDS 408 to a client that sends nothing of its request body for this long (default 60)
  --node-timeout SECONDS    a node's answer time when its CONFIG sends no Timeout (default 60)
  --manager-max-connections N     MCMP/status connections held at once (default 256)
  --manager-idle-timeout SECONDS  close an idle MCMP connection after this long (default 300, or KeepAliveTimeout of an httpd --config)
  --log-level LEVEL         pino level: ${LOG_LEVELS.join(', ')} (default info)
  --access-log PATH|-       access log, appended to (SIGUSR1 reopens it), - for stdout (default: none)
  --access-log-format FMT   ${ACCESS_LOG_FORMATS.join(' or ')}: httpd's combined line, or one JSON object per line (default combined)
  --primary-nice N          run the primary thread (MCMP, probes, status page) N nice levels below the
                            forwarding threads, 0..19 (default 10, or the PrimaryNice directive)
TLS (certificates and keys in PEM; checked at start, exit 2 when unusable; SIGHUP reloads them):
  --listen-tls HOST:PORT    HTTPS client traffic (repeatable; beside --listen) (default: none)
  --tls-cert FILE           certificate (chain) of --listen-tls and, by default, --manager-tls
  --tls-key FILE            its private key
  --tls-passphrase-file F   passphrase of encrypted keys (first line of F)       (default: none)
  --tls-sni NAME=CERT,KEY   another certificate for clients asking for NAME or *.domain (repeatable)
  --tls-client-ca FILE      ask HTTPS clients for a certificate; one sent must chain to FILE
  --tls-client-verify MODE  request (the only mode uWebSockets.js offers)      (default request)
  --upstream-ca FILE        CAs trusted for https/wss nodes, beside Node's store (default: none)
  --manager-tls             MCMP and the status page over TLS                    (default off)
  --manager-cert FILE       certificate of --manager-tls                  (default --tls-cert)
  --manager-key FILE        its key                                         (default --tls-key)
  --manager-client-ca FILE  workers must present a certificate chaining to FILE (default: none)
  --help, --version

Directives (--set NAME=VALUE or --config; names are case-insensitive, booleans On/Off):
${directiveHelp()}`;

/** One line per directive: name, default and meaning, from the one table in config/directives. */
function directiveHelp(): string {
  const width = Math.max(...DIRECTIVES.map((d) => d.name.length)) + 2;
  return DIRECTIVES.map((d) => {
    const meaning = d.unsupported !== undefined ? `not supported: ${d.unsupported}` : d.help;
    return `  ${d.name.padEnd(width)}${meaning} (default ${formatDefault(d)})`;
  }).join('\n');
}

function formatDefault(d: DirectiveSpec): string {
  if (d.kind === 'bool') return d.default === true ? 'On' : 'Off';
  if (d.kind === 'enum') {
    // The value's name as it is written (AllowEncodedSlashes: Off), not the number it maps to.
    const name = Object.keys(d.values ?? {}).find((k) => d.values?.[k] === d.default);
    if (name !== undefined) return name.charAt(0).toUpperCase() + name.slice(1);
  }
  return d.default === '' ? 'none' : String(d.default);
}

export const DEFAULTS = {
  listen: '0.0.0.0:8000',
  manager: '0.0.0.0:6666',
  allow: '127.0.0.0/8,::1',
  managerPath: '/mod_cluster-manager',
  logLevel: 'info',
  drainTimeoutSeconds: 10,
  maxConnections: 'auto',
  sendTimeoutSeconds: TRAFFIC_LIMIT_DEFAULTS.sendTimeoutMs / 1000,
  receiveTimeoutSeconds: TRAFFIC_LIMIT_DEFAULTS.receiveTimeoutMs / 1000,
  nodeTimeoutSeconds: TRAFFIC_LIMIT_DEFAULTS.nodeTimeoutMs / 1000,
  managerMaxConnections: 256,
} as const;

/** SECONDS (decimals allowed) within min..max, in milliseconds. */
function parseSeconds(flag: string, raw: string | undefined, fallbackSeconds: number, min: number, max: number): number {
  if (raw === undefined) return fallbackSeconds * 1000;
  const n = /^\d+(\.\d+)?$/.test(raw) ? Number(raw) : NaN;
  if (!(n >= min && n <= max)) throw new UsageError(`${flag}: bad value ${JSON.stringify(raw)}; expected seconds ${min}..${max}`);
  return Math.round(n * 1000);
}

/** Parses HOST:PORT, [V6]:PORT or :PORT (all addresses). Port 0 asks for an ephemeral port. */
export function parseHostPort(flag: string, value: string): HostPort {
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|([^:[\]]*)):(\d{1,5})$/.exec(value);
  const port = m === null ? NaN : Number(m[3]);
  if (m === null || port > 65535) {
    throw new UsageError(`${flag}: bad value ${JSON.stringify(value)}; expected HOST:PORT, [IPv6]:PORT or :PORT with a port 0..65535`);
  }
  const host = m[1] ?? (m[2] === '' || m[2] === undefined ? '0.0.0.0' : m[2]);
  return { host, port };
}

function parsePositiveInt(flag: string, value: string, max: number): number {
  if (!/^\d+$/.test(value) || Number(value) < 1 || Number(value) > max) {
    throw new UsageError(`${flag}: bad value ${JSON.stringify(value)}; expected an integer 1..${max}`);
  }
  return Number(value);
}

/** A directive file is a few KB; anything near this is not one. */
const CONFIG_FILE_MAX = 1024 * 1024;

/** Reads --config: an httpd configuration file (recognised by its syntax), or JSON/YAML keyed by directive names. */
export function readAnyConfigFile(file: string): HttpdSettings {
  const text = readText(file);
  if (!/\.json$/i.test(file) && looksLikeHttpd(text)) {
    try {
      return readHttpdConfig(file, CONFIG_FILE_MAX);
    } catch (err) {
      if (err instanceof HttpdConfigError) throw new UsageError(`--config ${err.message}`);
      throw err;
    }
  }
  const directives = readConfigFile(file).map(([name, value]) => ({ name, value: value as string, file, line: 0 }));
  return { directives, ignored: [] };
}

function readText(file: string): string {
  try {
    // A directory, a device (/dev/zero) or a huge file is refused before reading it.
    const stat = fs.statSync(file);
    if (!stat.isFile()) throw new UsageError(`--config: ${file} is not a regular file`);
    if (stat.size > CONFIG_FILE_MAX) throw new UsageError(`--config: ${file} is ${stat.size} bytes; at most ${CONFIG_FILE_MAX} accepted`);
    return fs.readFileSync(file, 'utf8');
  } catch (err) {
    if (err instanceof UsageError) throw err;
    throw new UsageError(`--config: cannot read ${file}: ${(err as Error).message}`);
  }
}

/** yaml is loaded only for a YAML --config: it is 72 modules the running proxy never needs otherwise. */
function parseYaml(text: string): unknown {
  return (require('yaml') as typeof import('yaml')).parse(text);
}

/** Reads a JSON or YAML config file whose keys are directive names. */
export function readConfigFile(file: string): Array<[string, unknown]> {
  const text = readText(file);
  let doc: unknown;
  try {
    doc = /\.json$/i.test(file) ? JSON.parse(text) : parseYaml(text);
  } catch (err) {
    throw new UsageError(`--config: ${file} is not valid ${/\.json$/i.test(file) ? 'JSON' : 'YAML'}: ${(err as Error).message.split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) return [];
  if (typeof doc !== 'object' || Array.isArray(doc)) {
    throw new UsageError(`--config: ${file} must be a mapping of directive names to values`);
  }
  return Object.entries(doc as Record<string, unknown>).map(([k, v]) => {
    if (v !== null && typeof v === 'object') throw new UsageError(`--config: ${k} in ${file} must be a single value`);
    return [k, v];
  });
}

export function parseCommandLine(argv: readonly string[]): Command {
  let parsed;
  try {
    parsed = parseArgs({
      args: [...argv],
      strict: true,
      allowPositionals: false,
      options: {
        listen: { type: 'string' },
        manager: { type: 'string' },
        allow: { type: 'string' },
        threads: { type: 'string' },
        'manager-path': { type: 'string' },
        config: { type: 'string' },
        set: { type: 'string', multiple: true },
        docroot: { type: 'string' },
        'drain-timeout': { type: 'string' },
        'max-connections': { type: 'string' },
        'send-timeout': { type: 'string' },
        'receive-timeout': { type: 'string' },
        'node-timeout': { type: 'string' },
        'manager-max-connections': { type: 'string' },
        'manager-idle-timeout': { type: 'string' },
        'log-level': { type: 'string' },
        'access-log': { type: 'string' },
        'access-log-format': { type: 'string' },
        'primary-nice': { type: 'string' },
        'listen-tls': { type: 'string', multiple: true },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        'tls-passphrase-file': { type: 'string' },
        'tls-sni': { type: 'string', multiple: true },
        'tls-client-ca': { type: 'string' },
        'tls-client-verify': { type: 'string' },
        'upstream-ca': { type: 'string' },
        'manager-tls': { type: 'boolean' },
        'manager-cert': { type: 'string' },
        'manager-key': { type: 'string' },
        'manager-client-ca': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean' },
      },
    });
  } catch (err) {
    throw new UsageError(`${describeArgsError(err as Error)}; see --help`);
  }
  const v = parsed.values;
  if (v.help === true) return { kind: 'help' };
  if (v.version === true) return { kind: 'version' };

  // Flags win over the file, the file over the defaults.
  const file: HttpdSettings = v.config === undefined ? { directives: [], ignored: [] } : readAnyConfigFile(v.config);
  const listen = v.listen !== undefined ? parseHostPort('--listen', v.listen) : (file.listen ?? parseHostPort('--listen', DEFAULTS.listen));
  const manager = v.manager !== undefined ? parseHostPort('--manager', v.manager) : (file.manager ?? parseHostPort('--manager', DEFAULTS.manager));
  const allow = v.allow ?? (file.mcmpAllow !== undefined ? file.mcmpAllow.join(',') : DEFAULTS.allow);
  const pageAllow = v.allow === undefined && file.pageAllow !== undefined ? file.pageAllow.join(',') : undefined;
  if (allow.trim() === '') throw new UsageError('--allow: empty list; expected CIDR[,CIDR...] such as 127.0.0.0/8,::1');
  const threads = v.threads === undefined ? Math.max(1, os.availableParallelism()) : parsePositiveInt('--threads', v.threads, 256);
  const managerPath = v['manager-path'] ?? file.managerPath ?? DEFAULTS.managerPath;
  if (!/^\/[A-Za-z0-9._~!$&'()*+,;=:@/-]*$/.test(managerPath)) {
    throw new UsageError(`--manager-path: bad value ${JSON.stringify(managerPath)}; expected an absolute URL path such as /mod_cluster-manager`);
  }
  const logLevel = v['log-level'] ?? file.logLevel ?? DEFAULTS.logLevel;
  if (!(LOG_LEVELS as readonly string[]).includes(logLevel)) {
    throw new UsageError(`--log-level: bad value ${JSON.stringify(logLevel)}; expected one of ${LOG_LEVELS.join(', ')}`);
  }
  let docroot: string | undefined;
  if (v.docroot !== undefined) {
    docroot = path.resolve(v.docroot);
    if (!fs.existsSync(docroot) || !fs.statSync(docroot).isDirectory()) {
      throw new UsageError(`--docroot: ${JSON.stringify(v.docroot)} is not a directory`);
    }
  }
  const drainRaw = v['drain-timeout'];
  let drainTimeoutMs = DEFAULTS.drainTimeoutSeconds * 1000;
  if (drainRaw !== undefined) {
    if (!/^\d+(\.\d+)?$/.test(drainRaw) || Number(drainRaw) > 3600) {
      throw new UsageError(`--drain-timeout: bad value ${JSON.stringify(drainRaw)}; expected seconds 0..3600`);
    }
    drainTimeoutMs = Math.round(Number(drainRaw) * 1000);
  }

  const limits = {
    sendTimeoutMs: parseSeconds('--send-timeout', v['send-timeout'], DEFAULTS.sendTimeoutSeconds, 1, 86400),
    receiveTimeoutMs: parseSeconds('--receive-timeout', v['receive-timeout'], DEFAULTS.receiveTimeoutSeconds, 1, 86400),
    nodeTimeoutMs: parseSeconds('--node-timeout', v['node-timeout'], DEFAULTS.nodeTimeoutSeconds, 1, 86400),
  };
  const maxRaw = v['max-connections'] ?? DEFAULTS.maxConnections;
  let maxConnections: number | 'auto' = 'auto';
  if (maxRaw !== 'auto') {
    if (!/^\d+$/.test(maxRaw) || Number(maxRaw) > 10_000_000) {
      throw new UsageError(`--max-connections: bad value ${JSON.stringify(maxRaw)}; expected auto, 0 (no cap) or an integer up to 10000000`);
    }
    maxConnections = Number(maxRaw);
  }
  const managerMaxConnections =
    v['manager-max-connections'] === undefined ? DEFAULTS.managerMaxConnections : parsePositiveInt('--manager-max-connections', v['manager-max-connections'], 1_000_000);

  const pairs: Array<[string, unknown]> = file.directives.map((d) => [d.name, d.value]);
  const fromFile = pairs.length;
  for (const item of v.set ?? []) {
    const eq = item.indexOf('=');
    if (eq <= 0) throw new UsageError(`--set: bad value ${JSON.stringify(item)}; expected NAME=VALUE, e.g. --set Maxnode=100`);
    pairs.push([item.slice(0, eq).trim(), item.slice(eq + 1)]);
  }
  let directives: Directives;
  try {
    directives = resolveDirectives(pairs);
    advertiseSettings(directives, manager); // the advertise directives together with --manager
  } catch (err) {
    if (err instanceof DirectiveError) {
      const source = findSource(err, pairs, fromFile, v.config);
      throw new UsageError(`${source}: ${err.message}`);
    }
    throw err;
  }
  let accessLog: AccessLogSettings | null;
  try {
    const named = (name: string): string => directiveSource(name, file, pairs.slice(fromFile), v.config);
    const pathFromFlag = v['access-log'] !== undefined;
    const path = v['access-log'] ?? directives.AccessLog;
    const format = v['access-log-format'] ?? ACCESS_LOG_FORMATS[directives.AccessLogFormat];
    if (v['access-log-format'] !== undefined && path === '') throw new AccessLogSettingsError('--access-log-format: needs --access-log PATH|- (or the AccessLog directive)');
    accessLog = accessLogSettings(path, format, { path: pathFromFlag ? '--access-log' : named('AccessLog'), format: '--access-log-format' });
  } catch (err) {
    if (err instanceof AccessLogSettingsError) throw new UsageError(err.message);
    throw err;
  }
  let tls: TlsSettings;
  try {
    tls = tlsSettingsFrom({
      listenTls: (v['listen-tls'] ?? []).map((value) => parseHostPort('--listen-tls', value)),
      cert: v['tls-cert'],
      key: v['tls-key'],
      passphraseFile: v['tls-passphrase-file'],
      sni: v['tls-sni'] ?? [],
      clientCa: v['tls-client-ca'],
      clientVerify: v['tls-client-verify'],
      upstreamCa: v['upstream-ca'],
      managerTls: v['manager-tls'] === true,
      managerCert: v['manager-cert'],
      managerKey: v['manager-key'],
      managerClientCa: v['manager-client-ca'],
    });
  } catch (err) {
    if (err instanceof TlsConfigError) throw new UsageError(err.message);
    throw err;
  }
  return {
    kind: 'run',
    options: {
      listen,
      manager,
      allow,
      threads,
      managerPath,
      logLevel,
      docroot,
      drainTimeoutMs,
      limits,
      maxConnections,
      managerMaxConnections,
      directives,
      pageAllow,
      // The flag wins over an httpd --config's KeepAliveTimeout.
      managerKeepAliveTimeoutMs: v['manager-idle-timeout'] !== undefined ? parseSeconds('--manager-idle-timeout', v['manager-idle-timeout'], 0, 1, 86400) : file.keepAliveTimeoutMs,
      ignoredConfig: file.ignored,
      argv: [...argv],
      tls,
      accessLog,
      primaryNice: v['primary-nice'] === undefined ? directives.PrimaryNice : parseNice(v['primary-nice']),
    },
  };
}

/** --primary-nice: a nice increment 0..19. */
function parseNice(raw: string): number {
  if (!/^\d{1,2}$/.test(raw) || Number(raw) > 19) throw new UsageError(`--primary-nice: bad value ${JSON.stringify(raw)}; expected an integer 0..19`);
  return Number(raw);
}

/** parseArgs errors as one line that starts with the flag the user gave. */
function describeArgsError(err: Error): string {
  const code = (err as { code?: string }).code;
  const quoted = /'([^']*)'/.exec(err.message)?.[1] ?? '';
  // "'--x'", "'--x <value>'" or "'-h, --help'": the long spelling is the one to name.
  const flag = /--?[A-Za-z0-9][A-Za-z0-9-]*(?=[^,]*$)/.exec(quoted)?.[0] ?? quoted;
  switch (code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `${flag}: unknown flag`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return err.message.includes('argument missing') ? `${flag}: needs a value` : `${flag}: takes no value`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument ${JSON.stringify(quoted)}: flags start with --`;
    default:
      return err.message.split('\n')[0] ?? 'bad command line';
  }
}

/** Where a directive's value came from, for an error line: --set NAME, file:line of an httpd config, or --config FILE. */
function directiveSource(name: string, file: HttpdSettings, fromSet: ReadonlyArray<[string, unknown]>, config: string | undefined): string {
  const lower = name.toLowerCase();
  if (fromSet.some(([n]) => n.toLowerCase() === lower)) return `--set ${name}`;
  const line = [...file.directives].reverse().find((d) => d.name.toLowerCase() === lower);
  if (line !== undefined && line.line > 0) return `--config ${line.file}:${line.line}: ${name}`;
  return `--config ${config ?? ''}: ${name}`;
}

/** Names where a bad directive came from: the config file or --set. */
function findSource(err: DirectiveError, pairs: ReadonlyArray<[string, unknown]>, fromFile: number, file: string | undefined): string {
  const lower = err.message.toLowerCase();
  for (let i = pairs.length - 1; i >= 0; i--) {
    const name = pairs[i]?.[0] ?? '';
    if (lower.includes(name.toLowerCase())) return i < fromFile ? `--config ${file ?? ''}`.trim() : '--set';
  }
  return fromFile > 0 ? `--config ${file ?? ''}`.trim() : '--set';
}
