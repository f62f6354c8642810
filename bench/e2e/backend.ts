// The benchmark backend: one single-threaded uWebSockets.js process serving
// fixed bodies with keep-alive, so every proxy is measured against the same,
// cheap upstream. Run as its own process (its CPU must not count as the
// proxy's or the driver's). One App per id, each on its own loopback port;
// the id comes back in X-Backend so a test can see which node served it.
import { loadUws } from '../../native-bindings/uws';

/**
 * Bodies by path prefix; any other path gets the small body. `chunked`: 100 B
 * without Content-Length, in CHUNKED_PIECES chunks of 25 B and the last chunk,
 * all in one write (as a servlet container answers a small dynamic page).
 */
export const BODY_PATHS = { small: '/100b', medium: '/16k', large: '/1m', chunked: '/chunked' } as const;
export const BODY_SIZES = { small: 100, medium: 16 * 1024, large: 1024 * 1024, chunked: 100 } as const;
export const CHUNKED_PIECES = 4;
export type BodySize = keyof typeof BODY_SIZES;

export interface BackendReady {
  /** Port per id. */
  ports: Record<string, number>;
}

function body(size: number): Buffer {
  const b = Buffer.alloc(size, 'x');
  b[size - 1] = 0x0a;
  return b;
}

function main(): void {
  const ids = (process.argv[2] ?? 'node1').split(',').filter((s) => s.length > 0);
  const uws = loadUws();
  const small = body(BODY_SIZES.small);
  const medium = body(BODY_SIZES.medium);
  const large = body(BODY_SIZES.large);
  const listenSockets: unknown[] = [];
  const ports: Record<string, number> = {};
  let pending = ids.length;
  for (const id of ids) {
    const app = uws.App();
    app.any('/*', (res, req) => {
      const url = req.getUrl();
      if (url.startsWith(BODY_PATHS.chunked)) {
        const close = req.getHeader('connection').toLowerCase() === 'close';
        // One cork: uWS frames every write() as a chunk and end() adds the last chunk, in one send.
        res.cork(() => {
          res.writeStatus('200 OK').writeHeader('Content-Type', 'text/plain').writeHeader('X-Backend', id);
          if (close) res.writeHeader('Connection', 'close');
          const piece = small.subarray(0, BODY_SIZES.chunked / CHUNKED_PIECES);
          for (let i = 1; i < CHUNKED_PIECES; i++) res.write(piece);
          res.end(small.subarray(small.length - piece.length), close);
        });
        return;
      }
      const payload = url.startsWith(BODY_PATHS.medium) ? medium : url.startsWith(BODY_PATHS.large) ? large : small;
      // uWS closes after a `Connection: close` request without saying so, and
      // a client that was not told (wrk) then loses its next request; say it.
      const close = req.getHeader('connection').toLowerCase() === 'close';
      res.cork(() => {
        res.writeStatus('200 OK').writeHeader('Content-Type', 'text/plain').writeHeader('X-Backend', id);
        if (close) res.writeHeader('Connection', 'close');
        res.end(payload, close);
      });
    });
    app.listen('127.0.0.1', 0, (ls) => {
      if (ls === false) {
        process.stderr.write(`backend ${id}: listen failed\n`);
        process.exit(1);
      }
      listenSockets.push(ls);
      ports[id] = uws.us_socket_local_port(ls);
      pending -= 1;
      if (pending === 0) process.stdout.write(`${JSON.stringify({ ports } satisfies BackendReady)}\n`);
    });
  }
  const stop = (): void => {
    for (const ls of listenSockets) uws.us_listen_socket_close(ls as Parameters<typeof uws.us_listen_socket_close>[0]);
    process.exit(0);
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
  // The driver holds our stdin open; when it dies without cleaning up, we go too.
  process.stdin.on('end', stop);
  process.stdin.on('error', stop);
  process.stdin.resume();
}

if (require.main === module) main();
