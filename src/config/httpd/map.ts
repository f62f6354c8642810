// What an httpd + mod_cluster configuration means for mcmp-edge: the MCMP
// virtual host (the one with EnableMCMPReceive) becomes --manager, the other
// Listen becomes --listen, `Require ip` of <Location /> is who may send MCMP,
// the <Location> whose handler is mod_cluster-manager gives the status page
// path and who may see it, every mod_cluster directive goes through the one
// directive table, KeepAliveTimeout applies to the MCMP listener, and a
// CustomLog in the combined format becomes the access log (--access-log).
// Everything else is named in `ignored`, so the operator sees it once.
import nodePath from 'node:path';
import { DirectiveError, findDirective, parseDirectiveValue } from '../directives';
import { EVERYBODY, httpdAddressToCidr, LOCAL, NOBODY } from './addresses';
import { HttpdConfigError, type Directive, type Item, type Section } from './syntax';

export interface HttpdHostPort {
  readonly host: string;
  readonly port: number;
}

export interface HttpdDirective {
  readonly name: string;
  readonly value: string;
  readonly file: string;
  readonly line: number;
}

export interface HttpdSettings {
  /** The client listener (a Listen that is not the MCMP one). */
  readonly listen?: HttpdHostPort;
  /** The MCMP and status-page listener. */
  readonly manager?: HttpdHostPort;
  /** Who may send MCMP (CIDRs). */
  readonly mcmpAllow?: readonly string[];
  /** Who may see the status page and /metrics (CIDRs). */
  readonly pageAllow?: readonly string[];
  readonly managerPath?: string;
  readonly directives: readonly HttpdDirective[];
  readonly keepAliveTimeoutMs?: number;
  /** pino level from LogLevel. */
  readonly logLevel?: string;
  /** "file:line: what (why)" for everything that has no effect here. */
  readonly ignored: readonly string[];
}

/** httpd LogLevel → pino level. */
const LOG_LEVEL: Readonly<Record<string, string>> = {
  emerg: 'fatal',
  alert: 'fatal',
  crit: 'fatal',
  error: 'error',
  warn: 'warn',
  notice: 'info',
  info: 'info',
  debug: 'debug',
};

/** Directives that do their job by being there: mcmp-edge is the modules they load. */
const ACCEPTED = new Set(['loadmodule', 'serverroot']);

const where = (i: { file: string; line: number }): string => `${i.file}:${i.line}`;

/** httpd's combined format, as its default httpd.conf defines it (the one format written the same way). */
const COMBINED_FORMAT = '%h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i"';

class Mapper {
  readonly listens: Array<{ host: string; port: number; item: Directive }> = [];
  readonly directives: HttpdDirective[] = [];
  readonly ignored: string[] = [];
  mcmpHost: { vhost: Section; address: { host: string; port: number } } | undefined;
  mcmpAllow: string[] | undefined;
  pageAllow: string[] | undefined;
  managerPath: string | undefined;
  keepAliveTimeoutMs: number | undefined;
  vhostKeepAliveTimeoutMs: number | undefined;
  logLevel: string | undefined;
  /** LogFormat nicknames defined so far (lower case) → their format string. */
  readonly logFormats = new Map<string, string>([['combined', COMBINED_FORMAT]]);
  /** The CustomLog that became the access log. */
  accessLog: Directive | undefined;
  /** ServerRoot: where httpd resolves a relative CustomLog path. */
  serverRoot: string | undefined;

  ignore(item: Item, why: string): void {
    this.ignored.push(`${where(item)}: ${item.kind === 'section' ? `<${item.name}>` : item.name} (${why})`);
  }

  /** A directive that may appear anywhere; returns false when it is not one of those. */
  common(d: Directive, inManagerHost: boolean): boolean {
    const name = d.name.toLowerCase();
    const spec = findDirective(d.name);
    if (spec !== undefined) {
      const value = d.args.join(' ');
      try {
        parseDirectiveValue(spec, value);
      } catch (err) {
        if (err instanceof DirectiveError) throw new HttpdConfigError(d.file, d.line, err.message);
        throw err;
      }
      this.directives.push({ name: spec.name, value, file: d.file, line: d.line });
      return true;
    }
    if (name === 'serverroot' && d.args[0] !== undefined) this.serverRoot = d.args[0];
    if (ACCEPTED.has(name)) return true;
    switch (name) {
      case 'keepalivetimeout': {
        const ms = keepAliveMs(d);
        if (inManagerHost) this.vhostKeepAliveTimeoutMs = ms;
        else this.keepAliveTimeoutMs = ms;
        return true;
      }
      case 'maxkeepaliverequests':
        if (!/^\d+$/.test(d.args[0] ?? '')) throw new HttpdConfigError(d.file, d.line, `MaxKeepAliveRequests: bad value ${JSON.stringify(d.args.join(' '))}; expected a number (0: unlimited)`);
        if (Number(d.args[0]) !== 0) this.ignore(d, 'mcmp-edge does not cap the requests of a connection; 0 (unlimited) is what it does');
        return true;
      case 'keepalive':
        if (!/^on$/i.test(d.args[0] ?? '')) this.ignore(d, 'connections are always kept alive');
        return true;
      case 'logformat':
        // Only names a format; a CustomLog that uses it decides.
        if (d.args.length === 2) this.logFormats.set((d.args[1] as string).toLowerCase(), d.args[0] as string);
        return true;
      case 'customlog':
        this.customLog(d, inManagerHost);
        return true;
      case 'loglevel': {
        const level = d.args.find((a) => !a.includes(':'));
        if (level === undefined) return true;
        const lower = level.toLowerCase();
        const mapped = lower.startsWith('trace') ? 'trace' : LOG_LEVEL[lower];
        if (mapped === undefined) throw new HttpdConfigError(d.file, d.line, `LogLevel: bad value ${JSON.stringify(level)}; expected emerg, alert, crit, error, warn, notice, info, debug or trace1..trace8`);
        this.logLevel = mapped;
        return true;
      }
      default:
        return false;
    }
  }

  /**
   * CustomLog FILE combined (or the combined format string, or a LogFormat
   * nickname for it) becomes the access log; what mcmp-edge cannot write the
   * same way is listed as ignored.
   */
  customLog(d: Directive, inManagerHost: boolean): void {
    const [file, format] = d.args;
    if (inManagerHost) return this.ignore(d, 'the access log records client traffic; MCMP and status-page requests are not logged');
    if (file === undefined || format === undefined) throw new HttpdConfigError(d.file, d.line, `CustomLog: expected CustomLog FILE FORMAT|NICKNAME`);
    if (d.args.length > 2) return this.ignore(d, 'conditional logging (env=, expr=) is not supported; use CustomLog FILE combined');
    if (file.startsWith('|')) return this.ignore(d, 'piped logs are not supported; use --access-log - and pipe standard output');
    const formatString = this.logFormats.get(format.toLowerCase()) ?? format;
    if (formatString.trim() !== COMBINED_FORMAT) return this.ignore(d, `only the combined format is written ("${COMBINED_FORMAT}"); --access-log-format json for JSON`);
    if (this.accessLog !== undefined) return this.ignore(d, `mcmp-edge writes one access log, the CustomLog at ${where(this.accessLog)}`);
    this.accessLog = d;
    // As httpd: a relative path is under ServerRoot (without one, under the current directory).
    const resolved = nodePath.isAbsolute(file) || this.serverRoot === undefined ? file : nodePath.join(this.serverRoot, file);
    this.directives.push({ name: 'AccessLog', value: resolved, file: d.file, line: d.line }, { name: 'AccessLogFormat', value: 'combined', file: d.file, line: d.line });
  }

  top(items: readonly Item[]): void {
    for (const item of items) {
      const name = item.name.toLowerCase();
      if (item.kind === 'directive') {
        if (name === 'listen') {
          this.listens.push({ ...parseListen(item), item });
          continue;
        }
        if (!this.common(item, false)) this.ignore(item, 'no meaning in mcmp-edge');
        continue;
      }
      if (name === 'virtualhost') this.virtualHost(item);
      else if (name === 'location') this.location(item, false);
      else this.ignore(item, 'no meaning in mcmp-edge');
    }
  }

  virtualHost(vhost: Section): void {
    const receives = vhost.children.some((c) => c.kind === 'directive' && findDirective(c.name)?.name === 'EnableMCMPReceive');
    if (receives && this.mcmpHost !== undefined) {
      this.ignore(vhost, `mcmp-edge receives MCMP on one listener, the virtual host at ${where(this.mcmpHost.vhost)}`);
      return;
    }
    if (receives) this.mcmpHost = { vhost, address: parseVirtualHostAddress(vhost) };
    for (const item of vhost.children) {
      if (item.kind === 'section') {
        const kind = item.name.toLowerCase();
        // mod_cluster's own README puts the MCMP host's Require lines in <Directory />.
        if (kind === 'location' || (receives && kind === 'directory' && item.args[0] === '/')) this.location(item, receives);
        else this.ignore(item, 'no meaning in mcmp-edge');
        continue;
      }
      if (receives && isAccessDirective(item)) {
        this.mcmpAllow = addAccess(this.mcmpAllow, item);
        continue;
      }
      if (!this.common(item, receives)) this.ignore(item, receives ? 'no meaning in mcmp-edge' : 'only the MCMP virtual host is used');
    }
  }

  location(loc: Section, inManagerHost: boolean): void {
    const path = loc.args[0] ?? '';
    const handler = loc.children.find((c): c is Directive => c.kind === 'directive' && c.name.toLowerCase() === 'sethandler');
    const isPage = handler !== undefined && (handler.args[0] ?? '').toLowerCase() === 'mod_cluster-manager';
    if (isPage) {
      if (!/^\/[A-Za-z0-9._~!$&'()*+,;=:@/-]*$/.test(path)) throw new HttpdConfigError(loc.file, loc.line, `<Location ${path}>: the status page path must be an absolute URL path`);
      this.managerPath = path;
    }
    const isRoot = path === '/';
    for (const item of loc.children) {
      if (item.kind === 'section') {
        this.ignore(item, 'no meaning in mcmp-edge');
        continue;
      }
      if (item === handler) {
        if (!isPage) this.ignore(item, 'only the mod_cluster-manager handler has a meaning here');
        continue;
      }
      if (isAccessDirective(item)) {
        if (isPage) this.pageAllow = addAccess(this.pageAllow, item);
        else if (isRoot && inManagerHost) this.mcmpAllow = addAccess(this.mcmpAllow, item);
        else this.ignore(item, 'access rules apply to <Location /> of the MCMP host and to the status page');
        continue;
      }
      if (!this.common(item, inManagerHost)) this.ignore(item, 'no meaning in mcmp-edge');
    }
  }

  settings(): HttpdSettings {
    let manager: HttpdHostPort | undefined;
    let listen: HttpdHostPort | undefined;
    const listens = [...this.listens];
    if (this.mcmpHost !== undefined) {
      const { address, vhost } = this.mcmpHost;
      const byPort = listens.findIndex((l) => l.port === address.port);
      const bound = byPort >= 0 ? listens.splice(byPort, 1)[0] : undefined;
      if (address.port === 0 && bound === undefined) throw new HttpdConfigError(vhost.file, vhost.line, `<VirtualHost ${vhost.args.join(' ')}>: no port, and no Listen says which`);
      // _default_ and * take the address of the Listen that opens the port.
      const host = address.host !== '' ? address.host : (bound?.host ?? '0.0.0.0');
      manager = { host, port: address.port !== 0 ? address.port : (bound?.port ?? 0) };
    }
    const first = listens.shift();
    if (first !== undefined) listen = { host: first.host, port: first.port };
    for (const extra of listens) this.ignore(extra.item, `mcmp-edge has one client listener, ${first === undefined ? '' : `${first.host}:${first.port}`}`);
    const keepAlive = this.vhostKeepAliveTimeoutMs ?? this.keepAliveTimeoutMs;
    return {
      ...(listen !== undefined && { listen }),
      ...(manager !== undefined && { manager }),
      ...(this.mcmpAllow !== undefined && { mcmpAllow: unique(this.mcmpAllow) }),
      ...(this.pageAllow !== undefined && { pageAllow: unique(this.pageAllow) }),
      ...(this.managerPath !== undefined && { managerPath: this.managerPath }),
      ...(keepAlive !== undefined && { keepAliveTimeoutMs: keepAlive }),
      ...(this.logLevel !== undefined && { logLevel: this.logLevel }),
      directives: this.directives,
      ignored: this.ignored,
    };
  }
}

export function mapHttpd(items: readonly Item[], skipped: readonly string[] = []): HttpdSettings {
  const m = new Mapper();
  m.top(items);
  const s = m.settings();
  return { ...s, ignored: [...skipped, ...s.ignored] };
}

function unique(list: readonly string[]): string[] {
  return [...new Set(list)];
}

function isAccessDirective(d: Directive): boolean {
  const n = d.name.toLowerCase();
  return n === 'require' || n === 'allow' || n === 'deny' || n === 'order';
}

/** Adds one Require/Allow line to a list (several lines: any of them lets a peer in, as httpd's implicit RequireAny). */
function addAccess(list: string[] | undefined, d: Directive): string[] | undefined {
  const name = d.name.toLowerCase();
  const args = d.args.map((a) => a.toLowerCase());
  const out = list ?? [];
  const refuse = (why: string): never => {
    throw new HttpdConfigError(d.file, d.line, `${d.name} ${d.args.join(' ')}: ${why}`);
  };
  if (name === 'order') return list;
  if (name === 'deny') {
    // Only the "deny everybody not allowed" form: mcmp-edge refuses whoever is not on the list.
    if (args[0] === 'from' && args[1] === 'all' && args.length === 2) return list;
    return refuse('not supported: only "Deny from all" (mcmp-edge refuses every peer not allowed)');
  }
  if (name === 'allow') {
    if (args[0] !== 'from' || args.length < 2) refuse('expected Allow from ADDRESS...');
    if (args[1] === 'all') return [...out, ...EVERYBODY];
    return [...out, ...d.args.slice(1).map((a) => httpdAddressToCidr(a) ?? refuse(`${JSON.stringify(a)} is not an address, partial address, network/netmask or CIDR`))];
  }
  // Require
  switch (args[0]) {
    case 'ip':
      if (args.length < 2) refuse('expected Require ip ADDRESS...');
      return [...out, ...d.args.slice(1).map((a) => httpdAddressToCidr(a) ?? refuse(`${JSON.stringify(a)} is not an address, partial address, network/netmask or CIDR`))];
    case 'all':
      if (args[1] === 'granted') return [...out, ...EVERYBODY];
      if (args[1] === 'denied') return list ?? [...NOBODY];
      return refuse('expected Require all granted or Require all denied');
    case 'local':
      return [...out, ...LOCAL];
    default:
      return refuse('not supported: mcmp-edge checks the peer address only (Require ip, all, local)');
  }
}

/** Listen [ADDRESS:]PORT [protocol] */
function parseListen(d: Directive): { host: string; port: number } {
  const arg = d.args[0] ?? '';
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]:|([0-9.]+):)?(\d{1,5})$/.exec(arg);
  if (m === null || Number(m[3]) > 65535 || d.args.length > 2) {
    throw new HttpdConfigError(d.file, d.line, `Listen: bad value ${JSON.stringify(d.args.join(' '))}; expected [ADDRESS:]PORT`);
  }
  return { host: m[1] ?? m[2] ?? '0.0.0.0', port: Number(m[3]) };
}

/** <VirtualHost _default_:6666>, *:6666, 10.0.0.1:6666, [::1]:6666; host '' means any. */
function parseVirtualHostAddress(vhost: Section): { host: string; port: number } {
  const arg = vhost.args[0] ?? '';
  const m = /^(?:\[([0-9A-Fa-f:.]+)\]|(_default_|\*|[0-9.]+|[A-Za-z0-9.-]+))(?::(\d{1,5}|\*))?$/.exec(arg);
  if (m === null) throw new HttpdConfigError(vhost.file, vhost.line, `<VirtualHost ${arg}>: bad address; expected ADDRESS:PORT, *:PORT or _default_:PORT`);
  const name = m[1] ?? m[2] ?? '';
  const host = name === '_default_' || name === '*' ? '' : name;
  if (host !== '' && m[1] === undefined && !/^[0-9.]+$/.test(host)) {
    throw new HttpdConfigError(vhost.file, vhost.line, `<VirtualHost ${arg}>: give the MCMP virtual host an IP address, * or _default_ (names are not resolved)`);
  }
  const port = m[3] === undefined || m[3] === '*' ? 0 : Number(m[3]);
  if (port > 65535) throw new HttpdConfigError(vhost.file, vhost.line, `<VirtualHost ${arg}>: port outside 1..65535`);
  return { host, port };
}

function keepAliveMs(d: Directive): number {
  const m = /^(\d+)(ms)?$/i.exec(d.args[0] ?? '');
  const ms = m === null ? NaN : m[2] !== undefined ? Number(m[1]) : Number(m[1]) * 1000;
  if (!(ms >= 1 && ms <= 86_400_000) || d.args.length !== 1) {
    throw new HttpdConfigError(d.file, d.line, `KeepAliveTimeout: bad value ${JSON.stringify(d.args.join(' '))}; expected seconds 1..86400 (or NNNms)`);
  }
  return ms;
}
