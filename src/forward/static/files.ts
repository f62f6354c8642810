// Requests no balancer takes are served from --docroot, as httpd's default
// handler would (MCMP.md §5.1 step 4: "served locally"): index.html for a
// directory, Content-Type by extension, never a file outside the docroot.
import fs from 'node:fs';
import path from 'node:path';
import type { HttpResponse } from 'uWebSockets.js';
import { textReplyBodyBytes, writeTextReply } from '../response/replies';
import { ResponseBodyWriter, type BodyProducer } from '../response/body';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.map': 'application/json',
  '.txt': 'text/plain; charset=utf-8',
  '.xml': 'application/xml',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.gif': 'image/gif',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.pdf': 'application/pdf',
  '.wasm': 'application/wasm',
};
const DEFAULT_CONTENT_TYPE = 'application/octet-stream';
const READ_CHUNK = 64 * 1024;

export function contentTypeOf(file: string): string {
  return CONTENT_TYPES[path.extname(file).toLowerCase()] ?? DEFAULT_CONTENT_TYPE;
}

/** A response being served from the docroot; abort() when the client goes away. */
export interface LocalResponse {
  abort(): void;
}

export class StaticFiles {
  readonly #root: string;
  #realRoot: Promise<string> | undefined;

  constructor(docroot: string) {
    this.#root = path.resolve(docroot);
  }

  /**
   * The file for a request path inside the docroot, or null when the path is
   * malformed or leaves the docroot. Symlinks are checked later (realpath).
   */
  resolvePath(url: string): string | null {
    let end = url.length;
    const q = url.indexOf('?');
    if (q >= 0) end = q;
    const semi = url.indexOf(';');
    if (semi >= 0 && semi < end) end = semi;
    let decoded: string;
    try {
      decoded = decodeURIComponent(url.slice(0, end));
    } catch {
      return null;
    }
    if (decoded.includes('\0') || !decoded.startsWith('/')) return null;
    const file = path.join(this.#root, path.posix.normalize(decoded));
    return file === this.#root || file.startsWith(this.#root + path.sep) ? file : null;
  }

  /**
   * Serves GET/HEAD (others: 405); `done` runs once the response is over,
   * whatever happened, with the status and body bytes sent (0: the client left first). `closeConnection`: the client asked for Connection: close.
   */
  serve(res: HttpResponse, method: string, url: string, closeConnection: boolean, done: StaticDone): LocalResponse {
    const reply = new StaticReply(res, method === 'HEAD', closeConnection, done);
    const file = this.resolvePath(url);
    if (file === null) {
      reply.text(404);
      return reply;
    }
    this.#open(file, method)
      .then((found) => {
        if (found === null) reply.text(404);
        else if (found === 'method') reply.text(405);
        else reply.send(found.fd, found.size, contentTypeOf(found.file));
      })
      .catch(() => reply.text(404));
    return reply;
  }

  async #open(file: string, method: string): Promise<{ fd: number; size: number; file: string } | null | 'method'> {
    this.#realRoot ??= fs.promises.realpath(this.#root).catch(() => this.#root);
    const realRoot = await this.#realRoot;
    let real: string;
    try {
      real = await fs.promises.realpath(file);
    } catch {
      return null;
    }
    if (real !== realRoot && !real.startsWith(realRoot + path.sep)) return null;
    let stat = await fs.promises.stat(real);
    if (stat.isDirectory()) {
      real = path.join(real, 'index.html');
      try {
        stat = await fs.promises.stat(real);
      } catch {
        return null;
      }
    }
    if (!stat.isFile()) return null;
    if (method !== 'GET' && method !== 'HEAD') return 'method';
    // A plain fd (not a FileHandle): the read stream owns it and closes it.
    const fd = await openForReading(real);
    return { fd, size: stat.size, file: real };
  }
}

function openForReading(file: string): Promise<number> {
  return new Promise((resolve, reject) => fs.open(file, 'r', (err, fd) => (err === null ? resolve(fd) : reject(err))));
}

/** The end of a static response: the status sent (0: none) and the body bytes. */
export type StaticDone = (status: number, bodyBytes: number) => void;

class StaticReply implements LocalResponse, BodyProducer {
  readonly #res: HttpResponse;
  readonly #head: boolean;
  readonly #close: boolean;
  readonly #done: StaticDone;
  #status = 0;
  #bodyBytes = 0;
  #aborted = false;
  #finished = false;
  #stream: fs.ReadStream | null = null;
  #writer: ResponseBodyWriter | null = null;

  constructor(res: HttpResponse, head: boolean, close: boolean, done: StaticDone) {
    this.#res = res;
    this.#head = head;
    this.#close = close;
    this.#done = done;
  }

  abort(): void {
    if (this.#finished) return;
    this.#aborted = true;
    this.#writer?.dispose();
    this.#stream?.destroy();
    this.#finish();
  }

  drained(): void {
    this.#stream?.resume();
  }

  text(status: number): void {
    if (this.#aborted || this.#finished) return;
    this.#res.cork(() => writeTextReply(this.#res, status, this.#close));
    this.#status = status;
    this.#bodyBytes = textReplyBodyBytes(status);
    this.#finish();
  }

  send(fd: number, size: number, contentType: string): void {
    if (this.#aborted || this.#finished) {
      fs.close(fd, () => undefined);
      return;
    }
    const res = this.#res;
    this.#status = 200;
    if (this.#head) {
      fs.close(fd, () => undefined);
      res.cork(() => {
        res.writeStatus('200 OK').writeHeader('Content-Type', contentType).writeHeader('Content-Length', String(size));
        if (this.#close) res.writeHeader('Connection', 'close');
        res.endWithoutBody();
      });
      this.#finish();
      return;
    }
    const writer = new ResponseBodyWriter(res, size, this);
    this.#writer = writer;
    res.cork(() => {
      res.writeStatus('200 OK').writeHeader('Content-Type', contentType);
      if (this.#close) res.writeHeader('Connection', 'close');
      writer.startKnownLength();
    });
    if (writer.done) {
      fs.close(fd, () => undefined);
      this.#finish();
      return;
    }
    const stream = fs.createReadStream('', { fd, highWaterMark: READ_CHUNK });
    this.#stream = stream;
    stream.on('data', (chunk: Buffer | string) => {
      if (this.#aborted) return;
      let more = true;
      res.cork(() => {
        const bytes = typeof chunk === 'string' ? Buffer.from(chunk) : chunk;
        this.#bodyBytes += bytes.length;
        more = writer.write(bytes);
      });
      if (writer.done) this.#finish();
      else if (!more) stream.pause();
    });
    stream.on('end', () => {
      if (this.#aborted || this.#finished) return;
      // The file shrank while being sent: never present a short body as whole.
      res.cork(() => writer.end());
      this.#finish();
    });
    stream.on('error', () => {
      if (this.#aborted || this.#finished) return;
      res.cork(() => res.close());
      this.#finish();
    });
  }

  #finish(): void {
    if (this.#finished) return;
    this.#finished = true;
    this.#done(this.#status, this.#bodyBytes);
  }
}
