// Starts a real ManagerServer on 127.0.0.1:0 with a log that tests can read,
// and a raw client that can pace its writes and half-close.
import net from 'node:net';
import pino from 'pino';
import { AllowList } from '../../src/mcmp/http/allow';
import type { HttpRequest } from '../../src/mcmp/http/parser';
import { ManagerServer, type ManagerServerOptions, type RequestHandler } from '../../src/mcmp/http/server';
import { parseResponses, type RawExchange, type RawResponse } from '../helpers/raw-http';

export const MCMP_METHODS = ['CONFIG', 'ENABLE-APP', 'DISABLE-APP', 'STOP-APP', 'REMOVE-APP', 'STATUS', 'DUMP', 'INFO', 'PING', 'VERSION'];

export interface LogLine {
  level: number;
  msg: string;
  peer?: string;
  [key: string]: unknown;
}

export const WARN = 40;
export const TRACE = 10;
export const DEBUG = 20;

export interface TestServer {
  server: ManagerServer;
  port: number;
  logs: LogLine[];
  /** Every request the handler saw. */
  seen: HttpRequest[];
  close(): Promise<void>;
}

/** Echoes method, target and body, so tests can see what the handler received. */
export const echoHandler: RequestHandler = (req) => ({
  status: 200,
  headers: [['Content-Type', 'text/plain']],
  body: `${req.methodUpper} ${req.target} ${req.body.toString('latin1')}`,
});

export async function startServer(overrides: Partial<ManagerServerOptions> = {}): Promise<TestServer> {
  const logs: LogLine[] = [];
  const logger = pino({ level: 'trace' }, { write: (s: string) => logs.push(JSON.parse(s) as LogLine) });
  const seen: HttpRequest[] = [];
  const inner = overrides.handler ?? echoHandler;
  const server = new ManagerServer({
    host: '127.0.0.1',
    port: 0,
    allow: AllowList.parse('127.0.0.0/8,::1'),
    methods: new Set([...MCMP_METHODS, 'GET']),
    maxBodySize: 1024,
    logger,
    serverHeader: 'mcmp-edge-test',
    ...overrides,
    handler: (req) => {
      seen.push(req);
      return inner(req);
    },
  });
  const { port } = await server.listen();
  return { server, port, logs, seen, close: () => server.close() };
}

/** Polls `cond` every 10 ms for at most `ms`. */
export async function waitFor(cond: () => boolean, ms = 3000): Promise<boolean> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 10));
  }
  return cond();
}

export interface TalkOptions {
  /** Pause between the parts, so each arrives in its own segment. */
  gapMs?: number;
  /** Shut our sending side after the last part (the server sees EOF). */
  halfClose?: boolean;
  /** Resolve once this many responses arrived instead of waiting for the close. */
  expect?: number;
  timeoutMs?: number;
  localAddress?: string;
  headOnly?: ReadonlySet<number>;
}

/** Like sendRaw, with gaps between writes and an optional half-close; never rejects on resets. */
export function talk(port: number, parts: Array<string | Buffer>, opts: TalkOptions = {}): Promise<RawExchange & { elapsedMs: number }> {
  const started = Date.now();
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    const socket = net.connect({ port, host: '127.0.0.1', localAddress: opts.localAddress });
    socket.setNoDelay(true);
    let done = false;
    const finish = (closed: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      socket.destroy();
      let parsed: { responses: RawResponse[]; rest: Buffer };
      try {
        parsed = parseResponses(Buffer.concat(chunks), closed, opts.headOnly);
      } catch {
        parsed = { responses: [], rest: Buffer.concat(chunks) };
      }
      resolve({ ...parsed, closed, elapsedMs: Date.now() - started });
    };
    const timer = setTimeout(() => finish(false), opts.timeoutMs ?? 5000);
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      if (opts.expect !== undefined && parseResponses(Buffer.concat(chunks), false, opts.headOnly).responses.length >= opts.expect) finish(false);
    });
    socket.on('close', () => finish(true));
    socket.on('error', () => finish(true));
    socket.on('connect', () => {
      void (async () => {
        for (let i = 0; i < parts.length; i++) {
          if (i > 0 && (opts.gapMs ?? 0) > 0) await new Promise((r) => setTimeout(r, opts.gapMs));
          if (socket.destroyed) return;
          const p = parts[i] as string | Buffer;
          socket.write(typeof p === 'string' ? Buffer.from(p, 'latin1') : p);
        }
        if (opts.halfClose === true && !socket.destroyed) socket.end();
      })();
    });
  });
}

/** Resolves when the socket closes; true if the server closed it, false after ms. */
export function closedWithin(socket: net.Socket, ms: number): Promise<boolean> {
  return new Promise((resolve) => {
    if (socket.destroyed) {
      resolve(true);
      return;
    }
    const timer = setTimeout(() => resolve(false), ms);
    socket.once('close', () => {
      clearTimeout(timer);
      resolve(true);
    });
  });
}
