// One MCMP request in, one reply out (MCMP.md §1–§2). The network listener
// (src/mcmp/http/) parses HTTP and calls handle(); this module owns the
// semantics: body grammar, dispatch, the error reply of §1.6, and logging.
import type { Directives } from '../config/directives';
import { PROTOCOL_VERSION } from '../config/directives';
import type { ClusterState } from '../cluster/state';
import type { NodeProber } from '../cluster/probe';
import { StatusProbes } from '../cluster/status-probes';
import type { Logger } from '../log';
import { parseMcmpBody, type McmpPair } from './body';
import { McmpError } from './errors';
import { appCommand, type AppVerb } from './commands/app';
import type { CommandContext, CommandResult } from './commands/command';
import { configCommand } from './commands/config';
import { pingCommand } from './commands/ping';
import { dumpCommand, infoCommand, versionCommand } from './commands/reports';
import { statusCommand } from './commands/status';

export interface McmpRequestInfo {
  /** Method name, upper case (MCMP methods are matched case-insensitively). */
  methodUpper: string;
  /** Request target as received: only the wildcard test looks at it. */
  target: string;
  /** Accept header, or ''. */
  accept: string;
  body: Buffer;
  /** The body exceeded maxMcmpBodySize(): refused (decision D1). */
  bodyTooLarge: boolean;
  /** Client address, for the logs. */
  peer: string;
}

export interface McmpReply {
  status: number;
  headers: ReadonlyArray<readonly [string, string]>;
  body: string;
}

export interface McmpHandlerOptions {
  state: ClusterState;
  /** The directives the state was built with (the commands read them from the state). */
  directives: Directives;
  prober: NodeProber;
  /** Proxy start time in microseconds since the epoch: the `id=` of STATUS/PING replies. */
  startTimeUs: bigint | number;
  logger: Logger;
}

// Shared and frozen: the listener checks a frozen header list once (http/response.ts).
const NO_HEADERS: McmpReply['headers'] = Object.freeze([]);
const TEXT_PLAIN: McmpReply['headers'] = Object.freeze([Object.freeze(['Content-Type', 'text/plain'] as const)]);

const APP_VERBS: Readonly<Record<string, AppVerb>> = {
  'ENABLE-APP': 'ENABLE',
  'DISABLE-APP': 'DISABLE',
  'STOP-APP': 'STOP',
  'REMOVE-APP': 'REMOVE',
};

/** The wildcard (node-wide) form of MCMP.md §1.3: `*`, or a target ending in `/*`. */
export function isWildcardTarget(target: string): boolean {
  return target === '*' || target.endsWith('/*');
}

/**
 * A header-safe copy of a text: Mess can quote a route or alias the node sent,
 * and a header carries only latin1 without control characters.
 */
export function headerSafe(text: string): string {
  return text.replace(/[\x00-\x08\x0a-\x1f\x7f\u0100-\uffff]/g, '?');
}

/** The error reply of MCMP.md §1.6 with the short text body of decision D15. */
export function errorReply(err: McmpError): McmpReply {
  return {
    status: 500,
    headers: [
      ['Version', PROTOCOL_VERSION],
      ['Type', err.type],
      ['Mess', headerSafe(err.mess)],
      ['Content-Type', 'text/plain'],
    ],
    body: `${err.mess}\n`,
  };
}

export class McmpHandler {
  /** The ten MCMP methods of MCMP.md §1.2, upper case. Nothing else is MCMP. */
  static readonly METHODS: ReadonlySet<string> = new Set(['CONFIG', 'ENABLE-APP', 'DISABLE-APP', 'STOP-APP', 'REMOVE-APP', 'STATUS', 'DUMP', 'INFO', 'PING', 'VERSION']);

  readonly #state: ClusterState;
  readonly #prober: NodeProber;
  readonly #statusProbes: StatusProbes;
  readonly #startId: string;
  readonly #logger: Logger;

  constructor(opts: McmpHandlerOptions) {
    this.#state = opts.state;
    this.#prober = opts.prober;
    const state = opts.state;
    // The directive object is live (SIGHUP): read at each use.
    this.#statusProbes = new StatusProbes({
      prober: opts.prober,
      reuseMs: () => opts.directives.StatusProbeReuse,
      errorTime: (n) => state.counters.errorTime(n),
      now: () => state.now(),
    });
    this.#startId = String(opts.startTimeUs);
    this.#logger = opts.logger;
  }

  /**
   * The reply to one MCMP request: a value when the command finished without
   * waiting (most STATUS, every CONFIG and *-APP), else a promise. Failures
   * other than MCMP errors always come as a rejected promise.
   */
  handle(req: McmpRequestInfo): McmpReply | Promise<McmpReply> {
    // Method names are case-insensitive (MCMP.md §1.2); the listener upper-cases, this makes sure.
    const method = req.methodUpper.toUpperCase();
    let result: CommandResult | Promise<CommandResult>;
    try {
      if (!McmpHandler.METHODS.has(method)) throw new McmpError('SCMDUNS');
      if (req.bodyTooLarge) throw new McmpError('SMESPAR');
      // The grammar runs for every method before dispatch, so even an INFO with `<` is refused.
      const pairs = parseMcmpBody(req.body);
      result = this.#dispatch(method, pairs, req);
    } catch (err) {
      return this.#refused(method, req, err);
    }
    if (result instanceof Promise) {
      return result.then(
        (r) => this.#reply(method, req, r),
        (err: unknown) => this.#refused(method, req, err),
      );
    }
    return this.#reply(method, req, result);
  }

  #reply(method: string, req: McmpRequestInfo, result: CommandResult): McmpReply {
    if (this.#logger.isLevelEnabled('debug')) this.#logger.debug({ method, route: result.route, result: result.result ?? 'OK', peer: req.peer }, 'MCMP');
    const headers = result.body === '' ? NO_HEADERS : result.contentType === undefined ? TEXT_PLAIN : [['Content-Type', result.contentType] as const];
    return { status: 200, headers, body: result.body };
  }

  /** The error reply of an MCMP error; anything else is a failure of ours (a rejection, as from the async path). */
  #refused(method: string, req: McmpRequestInfo, err: unknown): McmpReply | Promise<McmpReply> {
    if (!(err instanceof McmpError)) return Promise.reject(err);
    this.#logger.warn({ method, peer: req.peer, type: err.type, mess: err.mess }, 'MCMP request refused');
    return errorReply(err);
  }

  #dispatch(method: string, pairs: McmpPair[], req: McmpRequestInfo): CommandResult | Promise<CommandResult> {
    const ctx: CommandContext = {
      state: this.#state,
      prober: this.#prober,
      statusProbes: this.#statusProbes,
      startId: this.#startId,
      logger: this.#logger,
      wantsXml: req.accept.includes('text/xml'),
    };
    const verb = APP_VERBS[method];
    if (verb !== undefined) return appCommand(ctx, verb, pairs, isWildcardTarget(req.target));
    switch (method) {
      case 'CONFIG':
        return configCommand(ctx, pairs);
      case 'STATUS':
        return statusCommand(ctx, pairs);
      case 'PING':
        return pingCommand(ctx, pairs);
      case 'INFO':
        return infoCommand(ctx);
      case 'DUMP':
        return dumpCommand(ctx);
      case 'VERSION':
        return versionCommand(ctx);
      default:
        throw new McmpError('SCMDUNS');
    }
  }
}
