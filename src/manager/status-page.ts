// GET/HEAD of --manager-path (MCMP.md §6): the status page, Cmd=INFO/DUMP,
// and the APP commands of its links. Commands need the per-start nonce when
// CheckNonce is On (otherwise every parameter is silently ignored) and
// AllowCmd On. Decision D10: Range=NODE runs the wildcard command on the node,
// Range=DOMAIN on every node of the domain, so the page's own links work.
import type { Directives } from '../config/directives';
import type { ClusterState } from '../cluster/state';
import { McmpError } from '../mcmp/errors';
import { errorReply, type McmpHandler, type McmpReply } from '../mcmp/handler';
import { formatDump, formatInfo } from '../mcmp/commands/reports';
import { renderAdvertiseInfo, type AdvertiseInfo } from './advertise-line';
import { JSON_CONTENT_TYPE, renderJsonStatus, wantsJson } from './json-view';
import { PAGE_CONTENT_TYPE, renderCommandFailed, renderStatusPage } from './page';
import { parseManagerQuery, QueryError, splitTarget } from './query';

export interface StatusPageRequest {
  methodUpper: string;
  target: string;
  accept: string;
  peer: string;
}

export interface StatusPageOptions {
  state: ClusterState;
  handler: McmpHandler;
  directives: Directives;
  /** The path the page is served at (e.g. /mod_cluster_manager). */
  path: string;
  /** Per-start random value the command links carry (CheckNonce). */
  nonce: string;
  /** What is being advertised, if anything (asked at each page view: it is known only once listening). */
  advertiseInfo?: () => AdvertiseInfo | undefined;
}

const APP_COMMANDS: ReadonlySet<string> = new Set(['ENABLE-APP', 'DISABLE-APP', 'STOP-APP', 'REMOVE-APP']);

const plain = (status: number, text: string): McmpReply => ({ status, headers: [['Content-Type', 'text/plain']], body: `${text}\n` });

/** An MCMP body from page parameters; values are re-encoded so the MCMP grammar decodes them back. */
function mcmpBody(pairs: ReadonlyArray<readonly [string, string | undefined]>): Buffer {
  const items: string[] = [];
  for (const [name, value] of pairs) if (value !== undefined) items.push(`${name}=${encodeURIComponent(value)}`);
  return Buffer.from(items.join('&'), 'utf8');
}

export class StatusPage {
  readonly #state: ClusterState;
  readonly #handler: McmpHandler;
  readonly #d: Directives;
  readonly #path: string;
  readonly #nonce: string;
  readonly #advertiseInfo: (() => AdvertiseInfo | undefined) | undefined;

  constructor(opts: StatusPageOptions) {
    this.#state = opts.state;
    this.#handler = opts.handler;
    this.#d = opts.directives;
    this.#path = opts.path;
    this.#nonce = opts.nonce;
    this.#advertiseInfo = opts.advertiseInfo;
  }

  async handle(req: StatusPageRequest): Promise<McmpReply> {
    if (req.methodUpper !== 'GET' && req.methodUpper !== 'HEAD') {
      return { status: 405, headers: [['Allow', 'GET, HEAD'], ['Content-Type', 'text/plain']], body: 'Method Not Allowed\n' };
    }
    const { path, query } = splitTarget(req.target);
    if (path !== this.#path) return plain(404, 'Not Found');
    let params: Map<string, string>;
    try {
      params = parseManagerQuery(query);
    } catch (err) {
      if (err instanceof QueryError) return plain(err.status, err.status === 400 ? 'Bad Request' : 'Not Found');
      throw err;
    }
    // A read-only view: format=json needs no nonce.
    if (wantsJson(params, req.accept)) return { status: 200, headers: [['Content-Type', JSON_CONTENT_TYPE]], body: renderJsonStatus(this.#state) };
    // CSRF guard: without the right nonce every parameter is ignored, the page is still shown.
    if (this.#d.CheckNonce && params.get('nonce') !== this.#nonce) params.clear();

    const headers: Array<readonly [string, string]> = [];
    const refresh = params.get('refresh');
    if (refresh !== undefined) {
      const seconds = parseInt(refresh, 10);
      headers.push(['Refresh', String(Number.isNaN(seconds) || seconds < 1 ? 10 : seconds)]);
    }
    const cmd = params.get('cmd')?.toUpperCase();
    if (cmd === 'DUMP' || cmd === 'INFO') {
      const xml = req.accept.includes('text/xml');
      headers.push(['Content-Type', xml ? 'text/xml' : 'text/plain']);
      return { status: 200, headers, body: cmd === 'DUMP' ? formatDump(this.#state, xml) : formatInfo(this.#state, xml) };
    }
    const range = params.get('range');
    if (cmd !== undefined && range !== undefined && this.#d.AllowCmd) {
      const failed = await this.#command(cmd, range.toUpperCase(), params, req.peer);
      if (failed !== undefined) {
        // Like httpd: the error headers of the failed command, and a page that only says so.
        for (const h of failed.headers) if (h[0] !== 'Content-Type') headers.push(h);
        headers.push(['Content-Type', PAGE_CONTENT_TYPE]);
        const mess = failed.headers.find(([n]) => n === 'Mess')?.[1] ?? '';
        return { status: 200, headers, body: renderCommandFailed(path, mess) };
      }
    }
    headers.push(['Content-Type', PAGE_CONTENT_TYPE]);
    const advertising = this.#advertiseInfo?.();
    const body = renderStatusPage(this.#state, {
      uri: path,
      noncePrefix: this.#d.CheckNonce ? `nonce=${this.#nonce}&` : '',
      allowCmd: this.#d.AllowCmd,
      allowDisplay: this.#d.AllowDisplay,
      reduceDisplay: this.#d.ReduceDisplay,
      advertise: advertising === undefined ? undefined : renderAdvertiseInfo(advertising),
    });
    return { status: 200, headers, body };
  }

  /** Runs a page command through the MCMP handler; returns the first failed reply, if any. */
  async #command(cmd: string, range: string, params: Map<string, string>, peer: string): Promise<McmpReply | undefined> {
    if (!APP_COMMANDS.has(cmd)) return errorReply(new McmpError('SCMDUNS'));
    const run = (target: string, body: Buffer): McmpReply | Promise<McmpReply> => this.#handler.handle({ methodUpper: cmd, target, accept: '', body, bodyTooLarge: false, peer });
    const replies: McmpReply[] = [];
    if (range === 'NODE') {
      replies.push(await run('/*', mcmpBody([['JVMRoute', params.get('jvmroute')]])));
    } else if (range === 'DOMAIN') {
      const domain = params.get('domain') ?? '';
      for (const n of this.#state.nodes()) {
        if (n.domain === domain && !n.removed) replies.push(await run('/*', mcmpBody([['JVMRoute', n.route]])));
      }
    } else {
      replies.push(await run('/', mcmpBody([['JVMRoute', params.get('jvmroute')], ['Alias', params.get('alias')], ['Context', params.get('context')]])));
    }
    return replies.find((r) => r.status !== 200);
  }
}
