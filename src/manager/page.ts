// The HTML of the mod_cluster-manager page (MCMP.md §6.2), byte-compatible
// with httpd's for the default layout: test suites grep it for `Node <route>`,
// `Status: OK` per healthy node and `/<context>,` per context.
import { RELEASE } from '../config/directives';
import type { ClusterState } from '../cluster/state';
import type { ContextRow, HostRow, NodeRow } from '../slots/rows';
import { contextStatusName, flushPacketsName } from '../mcmp/commands/reports';
import { NodeFlag } from '../slots/counters';

export const PAGE_CONTENT_TYPE = 'text/html; charset=ISO-8859-1';

const HTML_ENTITIES: Readonly<Record<string, string>> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;' };

export function htmlEscape(text: string): string {
  return text.replace(/[&<>"]/g, (c) => HTML_ENTITIES[c] ?? c);
}

/** A query value inside a link: only what would break the link is encoded (`/` stays, as httpd shows it). */
export function linkValue(text: string): string {
  return text.replace(/[%&=#+ "<>]|[^\x21-\x7e]/g, (c) => encodeURIComponent(c));
}

export interface PageOptions {
  /** The request path the links point back to. */
  readonly uri: string;
  /** `nonce=<uuid>&` when CheckNonce is On, else ''. */
  readonly noncePrefix: string;
  readonly allowCmd: boolean;
  readonly allowDisplay: boolean;
  readonly reduceDisplay: boolean;
  /** The advertise lines of the AllowDisplay block (advertise-line.ts); absent: advertise is off. */
  readonly advertise?: string | undefined;
}

export const PAGE_HEAD = '<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 3.2 Final//EN">\n<html><head>\n<title>Mod_cluster Status</title>\n</head><body>\n';
export const PAGE_TAIL = '</body></html>\n';

/** The page shown instead of the tables when a page command failed. */
export function renderCommandFailed(uri: string, mess: string): string {
  return `${PAGE_HEAD}<h1>${RELEASE}</h1><h1> Command failed: ${htmlEscape(mess)}</h1>\n <a href="${uri}">Continue</a>\n${PAGE_TAIL}`;
}

function nodeStatus(state: ClusterState, n: NodeRow): 'OK' | 'NOTOK' {
  return n.removed || (state.counters.flags(n.id) & NodeFlag.InError) !== 0 ? 'NOTOK' : 'OK';
}

class PageWriter {
  readonly #state: ClusterState;
  readonly #o: PageOptions;
  #out = '';

  constructor(state: ClusterState, o: PageOptions) {
    this.#state = state;
    this.#o = o;
  }

  #link(query: string, label: string): string {
    return `<a href="${this.#o.uri}?${this.#o.noncePrefix}${query}">${label}</a>`;
  }

  render(): string {
    const o = this.#o;
    this.#out = `${PAGE_HEAD}<h1>${RELEASE}</h1>`;
    if (o.allowDisplay) {
      // mcmp-edge has no mod_sharedmem, reported as httpd 2.x would; advertise shows as mod_advertise does when on.
      this.#out += `start of "httpd.conf" configuration<br/>mod_proxy_cluster.c: OK<br/>mod_sharedmem.c: missing<br/>Protocol supported: http AJP https<br/>${o.advertise ?? 'mod_advertise.c: not loaded<br/>'}end of "httpd.conf" configuration<br/><br/>`;
    }
    this.#out += `${this.#link('refresh=10', 'Auto Refresh')} ${this.#link('Cmd=DUMP&Range=ALL', 'show DUMP output')} ${this.#link('Cmd=INFO&Range=ALL', 'show INFO output')}\n`;
    // Nodes grouped by Domain (byte order, stable), one LBGroup heading per domain.
    const nodes = this.#state.nodes().sort((a, b) => (a.domain < b.domain ? -1 : a.domain > b.domain ? 1 : 0));
    let domain = '';
    for (const n of nodes) {
      if (n.domain !== domain) {
        domain = n.domain;
        this.#domainHeading(domain);
      }
      this.#node(n);
    }
    if (this.#state.sessionTableEnabled) this.#sessions();
    return this.#out + PAGE_TAIL;
  }

  #domainHeading(domain: string): void {
    const o = this.#o;
    this.#out += o.reduceDisplay ? `<br/><br/>LBGroup ${htmlEscape(domain)}: ` : `<h1> LBGroup ${htmlEscape(domain)}: `;
    if (o.allowCmd) {
      const d = linkValue(domain);
      this.#out += `${this.#link(`Cmd=ENABLE-APP&Range=DOMAIN&Domain=${d}`, 'Enable Nodes')} ${this.#link(`Cmd=DISABLE-APP&Range=DOMAIN&Domain=${d}`, 'Disable Nodes')} ${this.#link(`Cmd=STOP-APP&Range=DOMAIN&Domain=${d}`, 'Stop Nodes')}`;
    }
    if (!o.reduceDisplay) this.#out += '</h1>\n';
  }

  #node(n: NodeRow): void {
    const o = this.#o;
    const c = this.#state.counters;
    const status = nodeStatus(this.#state, n);
    const route = htmlEscape(n.route);
    if (o.reduceDisplay) this.#out += `<br/><br/>Node ${route}  ${status} `;
    else this.#out += `<h1> Node ${route} (${n.type}://${htmlEscape(n.host)}:${n.port}): </h1>\n`;
    if (o.allowCmd) {
      const r = linkValue(n.route);
      this.#out += `${this.#link(`Cmd=ENABLE-APP&Range=NODE&JVMRoute=${r}`, 'Enable Contexts')} ${this.#link(`Cmd=DISABLE-APP&Range=NODE&JVMRoute=${r}`, 'Disable Contexts')} ${this.#link(`Cmd=STOP-APP&Range=NODE&JVMRoute=${r}`, 'Stop Contexts')}`;
    }
    if (o.reduceDisplay) {
      this.#out += '<br/>\n';
    } else {
      // Durations in microseconds here, unlike INFO; Transferred spelled right, unlike INFO.
      this.#out += `<br/>\nBalancer: ${htmlEscape(n.balancer)},LBGroup: ${htmlEscape(n.domain)},Flushpackets: ${flushPacketsName(n.flushPackets)},Flushwait: ${n.flushWaitUs},Ping: ${n.pingUs},Smax: ${n.smax},Ttl: ${n.ttlUs}`;
      this.#out += `,Status: ${status},Elected: ${c.elected(n.id) >>> 0},Read: ${c.read(n.id)},Transferred: ${c.transferred(n.id)},Connected: ${c.busy(n.id)},Load: ${c.lbfactor(n.id)}`;
    }
    if (this.#state.sessionTableEnabled) this.#out += `,Num sessions: ${this.#state.sessionCount(n.route)}`;
    this.#out += '\n';
    this.#vhosts(n);
  }

  /** The node's aliases grouped by vhost (in order of first appearance), each with its contexts. */
  #vhosts(n: NodeRow): void {
    const o = this.#o;
    const groups = new Map<number, HostRow[]>();
    for (const h of this.#state.hostsOf(n.id)) {
      const g = groups.get(h.vhost);
      if (g === undefined) groups.set(h.vhost, [h]);
      else g.push(h);
    }
    let first = true;
    for (const [vhost, aliases] of groups) {
      if (!first && !o.reduceDisplay) this.#out += '</pre>';
      first = false;
      if (!o.reduceDisplay) this.#out += `<h2> Virtual Host ${vhost}:</h2>`;
      this.#contexts(n, vhost, (aliases[0] as HostRow).alias);
      if (o.reduceDisplay) {
        this.#out += 'Aliases: ';
        for (const h of aliases) this.#out += `${htmlEscape(h.alias)} `;
      } else {
        this.#out += '<h3>Aliases:</h3><pre>';
        for (const h of aliases) this.#out += `${htmlEscape(h.alias)}\n`;
      }
    }
    // httpd closes the last <pre> whenever the host table has any row at all,
    // even for a node without aliases; keeping that keeps the page byte-identical.
    if (this.#state.hosts().length > 0 && !o.reduceDisplay) this.#out += '</pre>';
  }

  #contexts(n: NodeRow, vhost: number, alias: string): void {
    const o = this.#o;
    if (!o.reduceDisplay) this.#out += '<h3>Contexts:</h3>';
    this.#out += '<pre>';
    for (const c of this.#state.contextsOf(n.id, vhost)) {
      this.#out += `${htmlEscape(c.path)}, Status: ${contextStatusName(c.status)} Request: ${this.#state.counters.contextRequests(c.id)} `;
      if (o.allowCmd) this.#out += this.#contextLinks(c, n.route, alias);
      this.#out += '\n';
    }
    this.#out += '</pre>';
  }

  #contextLinks(c: ContextRow, route: string, alias: string): string {
    const args = `Range=CONTEXT&JVMRoute=${linkValue(route)}&Alias=${linkValue(alias)}&Context=${linkValue(c.path)}`;
    const link = (cmd: string, label: string): string => this.#link(`Cmd=${cmd}&${args}`, label);
    switch (c.status) {
      case 1:
        return `${link('DISABLE-APP', 'Disable')} ${link('STOP-APP', 'Stop')}`;
      case 2:
        return `${link('ENABLE-APP', 'Enable')}  ${link('STOP-APP', 'Stop')}`;
      case 3:
        return `${link('ENABLE-APP', 'Enable')} ${link('DISABLE-APP', 'Disable')}`;
      default:
        return '';
    }
  }

  #sessions(): void {
    const sessions = this.#state.sessions();
    if (sessions.length === 0) return;
    this.#out += '<h1>SessionIDs:</h1><pre>';
    for (const s of sessions) this.#out += `id: ${htmlEscape(s.sessionId)} route: ${htmlEscape(s.route)}\n`;
    this.#out += '</pre>';
  }
}

/** The whole page for the current tables. */
export function renderStatusPage(state: ClusterState, o: PageOptions): string {
  return new PageWriter(state, o).render();
}
