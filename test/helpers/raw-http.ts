// A raw HTTP/1.x client for tests: sends exact bytes over node:net and parses
// every response that comes back (Content-Length, chunked or close-delimited),
// so tests can check status lines, header bytes, pipelining and framing.
import net from 'node:net';

export interface RawResponse {
  statusLine: string;
  status: number;
  /** Header names lower-cased; repeated headers joined with ', '. */
  headers: Record<string, string>;
  /** Header lines as received, in order. */
  rawHeaders: string[];
  body: Buffer;
  /** The whole response as received. */
  raw: Buffer;
}

export interface RawExchange {
  responses: RawResponse[];
  /** True if the server closed the connection. */
  closed: boolean;
  /** Bytes received after the last complete response. */
  rest: Buffer;
}

/**
 * Parses as many complete responses as `data` holds. `eof` says whether the
 * connection was closed (a close-delimited body ends there). `headOnly` lists
 * which responses answer HEAD requests (they have no body).
 */
export function parseResponses(data: Buffer, eof: boolean, headOnly: ReadonlySet<number> = new Set()): { responses: RawResponse[]; rest: Buffer } {
  const responses: RawResponse[] = [];
  let off = 0;
  for (;;) {
    const headEnd = data.indexOf('\r\n\r\n', off);
    if (headEnd < 0) break;
    const head = data.subarray(off, headEnd).toString('latin1');
    const lines = head.split('\r\n');
    const statusLine = lines[0] ?? '';
    const status = Number(statusLine.split(' ')[1]);
    const headers: Record<string, string> = {};
    const rawHeaders = lines.slice(1);
    for (const line of rawHeaders) {
      const i = line.indexOf(':');
      const name = line.slice(0, i).trim().toLowerCase();
      const value = line.slice(i + 1).trim();
      headers[name] = headers[name] !== undefined ? `${headers[name]}, ${value}` : value;
    }
    let pos = headEnd + 4;
    let body: Buffer;
    const noBody = headOnly.has(responses.length) || status === 204 || status === 304 || (status >= 100 && status < 200);
    if (noBody) {
      body = Buffer.alloc(0);
    } else if ((headers['transfer-encoding'] ?? '').toLowerCase().includes('chunked')) {
      const parts: Buffer[] = [];
      let complete = false;
      for (;;) {
        const lineEnd = data.indexOf('\r\n', pos);
        if (lineEnd < 0) break;
        const size = parseInt(data.subarray(pos, lineEnd).toString('latin1'), 16);
        if (Number.isNaN(size)) throw new Error('bad chunk size');
        if (size === 0) {
          const trailerEnd = data.indexOf('\r\n\r\n', lineEnd);
          const simpleEnd = data.subarray(lineEnd, lineEnd + 4).toString('latin1') === '\r\n\r\n';
          if (!simpleEnd && trailerEnd < 0) break;
          pos = (simpleEnd ? lineEnd : trailerEnd) + 4;
          complete = true;
          break;
        }
        if (data.length < lineEnd + 2 + size + 2) break;
        parts.push(data.subarray(lineEnd + 2, lineEnd + 2 + size));
        pos = lineEnd + 2 + size + 2;
      }
      if (!complete) break;
      body = Buffer.concat(parts);
    } else if (headers['content-length'] !== undefined) {
      const len = Number(headers['content-length']);
      if (data.length < pos + len) break;
      body = data.subarray(pos, pos + len);
      pos += len;
    } else {
      if (!eof) break;
      body = data.subarray(pos);
      pos = data.length;
    }
    responses.push({ statusLine, status, headers, rawHeaders, body: Buffer.from(body), raw: Buffer.from(data.subarray(off, pos)) });
    off = pos;
  }
  return { responses, rest: Buffer.from(data.subarray(off)) };
}

export interface SendRawOptions {
  host?: string;
  /** Resolve once this many responses arrived (default: wait for close or timeout). */
  expect?: number;
  /** Give up after this many ms (default 5000); resolves with what arrived. */
  timeoutMs?: number;
  /** Indexes of responses that answer HEAD requests. */
  headOnly?: ReadonlySet<number>;
  /** Local address to connect from (e.g. 127.0.0.2 to test --allow). */
  localAddress?: string;
}

/** Sends `payload` (string as latin1, or Buffer chunks written one by one) and collects the responses. */
export function sendRaw(port: number, payload: string | Buffer | Array<string | Buffer>, opts: SendRawOptions = {}): Promise<RawExchange> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    const socket = net.connect({ port, host: opts.host ?? '127.0.0.1', localAddress: opts.localAddress });
    let done = false;
    const finish = (closed: boolean): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      const { responses, rest } = parseResponses(Buffer.concat(chunks), closed, opts.headOnly);
      socket.destroy();
      resolve({ responses, closed, rest });
    };
    const timer = setTimeout(() => finish(false), opts.timeoutMs ?? 5000);
    socket.on('data', (d: Buffer) => {
      chunks.push(d);
      if (opts.expect !== undefined) {
        const { responses } = parseResponses(Buffer.concat(chunks), false, opts.headOnly);
        if (responses.length >= opts.expect) finish(false);
      }
    });
    socket.on('end', () => finish(true));
    socket.on('close', () => finish(true));
    socket.on('error', (err: NodeJS.ErrnoException) => {
      if (err.code === 'ECONNRESET' || err.code === 'EPIPE') finish(true);
      else if (!done) {
        done = true;
        clearTimeout(timer);
        reject(err);
      }
    });
    socket.on('connect', () => {
      const parts = Array.isArray(payload) ? payload : [payload];
      for (const p of parts) socket.write(typeof p === 'string' ? Buffer.from(p, 'latin1') : p);
    });
  });
}

/** Builds one MCMP request as the Java worker sends it (MCMP.md §1.7). */
export function mcmpRequest(method: string, body = '', target = '/', extraHeaders: string[] = []): string {
  const head = [`${method} ${target} HTTP/1.1`, 'Host: 127.0.0.1:6666'];
  if (body.length > 0) head.push(`Content-Length: ${Buffer.byteLength(body, 'latin1')}`);
  head.push('User-Agent: ClusterListener/1.0', 'Connection: Keep-Alive', ...extraHeaders);
  return `${head.join('\r\n')}\r\n\r\n${body}`;
}
