// STATUS load as Java workers send it: each connection writes one STATUS,
// waits for the whole reply, writes the next (no pipelining), TCP_NODELAY.
// The request bytes are built once and replies are framed by their
// Content-Length only, so the client costs little of the shared CPU: the
// older KeepAliveConnection-based loop (a timer, a promise, a full parse and
// three copies per reply) spent 1.5x the CPU of this one per message, on the
// same two cores as the proxy it measured.
import net from 'node:net';
import { mcmpRequest } from '../../test/helpers/raw-http';
import { LOOPBACK } from './net';

export interface StatusLoadResult {
  readonly connections: number;
  readonly seconds: number;
  readonly messages: number;
  readonly perSecond: number;
  /** Replies that were not 200 with the expected State, and connections that failed. */
  readonly failures: number;
  /** Client-side round trip of one STATUS, µs. */
  readonly p50Us: number;
  readonly p99Us: number;
}

export interface StatusLoadSpec {
  readonly port: number;
  readonly route: string;
  readonly connections: number;
  readonly durationMs: number;
  /** What a reply must say (default State=OK). */
  readonly expect?: string;
}

const CONTENT_LENGTH = /\r\ncontent-length: *(\d+)\r\n/i;
const HEAD_END = Buffer.from('\r\n\r\n');

/** One connection's loop; resolves when the time is up (the reply in flight is waited for). */
function statusLoop(spec: StatusLoadSpec, request: Buffer, until: number, latencies: number[]): Promise<{ messages: number; failures: number }> {
  const expect = spec.expect ?? 'State=OK';
  return new Promise((resolve) => {
    let messages = 0;
    let failures = 0;
    let pending: Buffer = Buffer.alloc(0);
    let sentAt = 0n;
    const socket = net.connect(spec.port, LOOPBACK);
    socket.setNoDelay(true);
    const send = (): void => {
      if (Date.now() >= until) {
        socket.destroy();
        return;
      }
      sentAt = process.hrtime.bigint();
      socket.write(request);
    };
    socket.once('connect', send);
    socket.on('data', (chunk: Buffer) => {
      pending = pending.length === 0 ? chunk : Buffer.concat([pending, chunk]);
      for (;;) {
        const headEnd = pending.indexOf(HEAD_END);
        if (headEnd < 0) return;
        const head = pending.toString('latin1', 0, headEnd + 2);
        const length = Number(CONTENT_LENGTH.exec(head)?.[1] ?? 0);
        const end = headEnd + 4 + length;
        if (pending.length < end) return;
        const ok = head.startsWith('HTTP/1.1 200 ') && pending.toString('latin1', headEnd + 4, end).includes(expect);
        pending = pending.subarray(end);
        messages++;
        if (!ok) failures++;
        if (messages % 8 === 0) latencies.push(Number(process.hrtime.bigint() - sentAt) / 1000);
        send();
      }
    });
    socket.on('error', () => {
      failures++;
    });
    socket.on('close', () => resolve({ messages, failures }));
  });
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number;
}

/** `connections` workers sending STATUS for `route` back to back for `durationMs`. */
export async function runStatusLoad(spec: StatusLoadSpec): Promise<StatusLoadResult> {
  const request = Buffer.from(mcmpRequest('STATUS', `JVMRoute=${spec.route}&Load=100`), 'latin1');
  const start = Date.now();
  const latencies: number[] = [];
  const results = await Promise.all(Array.from({ length: spec.connections }, () => statusLoop(spec, request, start + spec.durationMs, latencies)));
  const seconds = (Date.now() - start) / 1000;
  const messages = results.reduce((a, r) => a + r.messages, 0);
  latencies.sort((a, b) => a - b);
  return {
    connections: spec.connections,
    seconds,
    messages,
    perSecond: messages / seconds,
    failures: results.reduce((a, r) => a + r.failures, 0),
    p50Us: percentile(latencies, 50),
    p99Us: percentile(latencies, 99),
  };
}

/**
 * An AJP node that answers CPING with CPONG and counts the connections it
 * gets: STATUS for an ajp node is always probed (EnableOptions concerns http
 * nodes only), so this shows what each STATUS costs the node.
 */
export async function startCpongNode(): Promise<{ port: number; connections: () => number; close: () => Promise<void> }> {
  const CPING = Buffer.from([0x12, 0x34, 0x00, 0x01, 0x0a]);
  const CPONG = Buffer.from([0x41, 0x42, 0x00, 0x01, 0x09]);
  let connections = 0;
  const sockets = new Set<net.Socket>();
  const server = net.createServer((s) => {
    connections++;
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
    s.on('error', () => s.destroy());
    let seen: Buffer = Buffer.alloc(0);
    s.on('data', (d: Buffer) => {
      seen = Buffer.concat([seen, d]);
      while (seen.length >= CPING.length && seen.subarray(0, CPING.length).equals(CPING)) {
        s.write(CPONG);
        seen = seen.subarray(CPING.length);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, LOOPBACK, resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections: () => connections,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}
