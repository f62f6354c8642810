// Builds the primary's MCMP side for tests: real slot tables, real counters,
// a real prober, an injectable clock and a logger whose lines can be read.
import net from 'node:net';
import http from 'node:http';
import { Writable } from 'node:stream';
import pino from 'pino';
import { resolveDirectives, type Directives } from '../../src/config/directives';
import { ClusterState } from '../../src/cluster/state';
import { NetProber, type NodeProber } from '../../src/cluster/probe';
import { McmpHandler, type McmpReply } from '../../src/mcmp/handler';
import { ClusterCounters } from '../../src/slots/counters';
import { SlotTables, tableSizes } from '../../src/slots/tables';
import type { Logger } from '../../src/log';

export const START_ID = 1795303842098958n;

export interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

export function captureLogger(): { logger: Logger; lines: LogLine[] } {
  const lines: LogLine[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const text of chunk.toString('utf8').split('\n')) if (text !== '') lines.push(JSON.parse(text) as LogLine);
      cb();
    },
  });
  return { logger: pino({ level: 'debug' }, stream), lines };
}

export class Clock {
  ms = 1_800_000_000_000;
  readonly now = (): number => this.ms;
  advance(seconds: number): void {
    this.ms += seconds * 1000;
  }
}

export interface HarnessOptions {
  directives?: Array<readonly [string, unknown]>;
  prober?: NodeProber;
}

export interface SendOptions {
  target?: string;
  accept?: string;
  tooLarge?: boolean;
}

export class Harness {
  readonly directives: Directives;
  readonly tables: SlotTables;
  readonly counters: ClusterCounters;
  readonly clock = new Clock();
  readonly state: ClusterState;
  readonly handler: McmpHandler;
  readonly prober: NodeProber;
  readonly logger: Logger;
  readonly logs: LogLine[];

  constructor(opts: HarnessOptions = {}) {
    this.directives = resolveDirectives(opts.directives ?? []);
    const sizes = tableSizes(this.directives);
    this.tables = SlotTables.create(sizes);
    this.counters = new ClusterCounters(sizes.maxNode, sizes.maxContext);
    const { logger, lines } = captureLogger();
    this.logger = logger;
    this.logs = lines;
    this.state = new ClusterState({ directives: this.directives, publisher: this.tables.publisher, counters: this.counters, now: this.clock.now });
    this.prober = opts.prober ?? new NetProber({ enableOptions: this.directives.EnableOptions, maxConcurrent: this.directives.ModProxyClusterThreadCount });
    this.handler = new McmpHandler({ state: this.state, directives: this.directives, prober: this.prober, startTimeUs: START_ID, logger });
  }

  send(method: string, body = '', o: SendOptions = {}): Promise<McmpReply> {
    return Promise.resolve(this.handler.handle({
      methodUpper: method,
      target: o.target ?? '/',
      accept: o.accept ?? '',
      body: Buffer.from(body, 'utf8'),
      bodyTooLarge: o.tooLarge ?? false,
      peer: '127.0.0.1:40000',
    }));
  }

  /** Sends and requires a 200. */
  async ok(method: string, body = '', o: SendOptions = {}): Promise<string> {
    const r = await this.send(method, body, o);
    if (r.status !== 200) throw new Error(`${method} ${body} → ${r.status} ${header(r, 'Mess')}`);
    return r.body;
  }

  dump(): Promise<string> {
    return this.ok('DUMP');
  }

  info(): Promise<string> {
    return this.ok('INFO');
  }
}

export function header(r: McmpReply, name: string): string | undefined {
  return r.headers.find(([n]) => n.toLowerCase() === name.toLowerCase())?.[1];
}

/** A port on 127.0.0.1 with nothing listening (bound, then released). */
export async function closedPort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return port;
}

/** A real HTTP back end on an ephemeral loopback port that answers everything 200 (OPTIONS * included). */
export async function httpBackend(): Promise<{ port: number; requests: string[]; close: () => Promise<void> }> {
  const requests: string[] = [];
  const server = http.createServer((req, res) => {
    requests.push(`${req.method} ${req.url} HTTP/${req.httpVersion}`);
    res.end('ok');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  return {
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
