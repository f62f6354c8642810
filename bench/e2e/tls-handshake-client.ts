// The load of the TLS "full handshakes" runs, as its own process:
//   node tls-handshake-client.js PORT PATH CONNECTIONS SECONDS
// Each of CONNECTIONS loops opens a TLS connection WITHOUT offering a session
// (so every handshake is a full one: key exchange and certificate signature),
// sends one `Connection: close` GET, reads the whole response and starts
// over. wrk cannot measure this: it keeps its last session and resumes
// (nginx's $ssl_session_reused: 328 of 332 wrk connections resumed over TLS 1.3;
// this client: 0 of 63).
// Prints one JSON line (HandshakeRun). The certificate is not verified here:
// the bench checks each target's certificate once before measuring.
import tls from 'node:tls';
import { parseResponses } from '../../test/helpers/raw-http';
import { LOOPBACK } from './net';

export interface HandshakeRun {
  readonly requests: number;
  readonly durationSec: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly errors: number;
  readonly non2xx: number;
  /** Handshakes the server resumed (should stay 0: no session is ever offered). */
  readonly resumed: number;
  /** Protocol and cipher of the last handshake, e.g. "TLSv1.3 TLS_AES_256_GCM_SHA384". */
  readonly negotiated: string;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

function oneExchange(port: number, request: Buffer, onDone: (ok: boolean, status: number, resumed: boolean, negotiated: string) => void): void {
  const socket = tls.connect({ host: LOOPBACK, port, servername: 'localhost', rejectUnauthorized: false });
  let data: Buffer = Buffer.alloc(0);
  let finished = false;
  let resumed = false;
  let negotiated = '';
  const finish = (ok: boolean, status: number): void => {
    if (finished) return;
    finished = true;
    socket.destroy();
    onDone(ok, status, resumed, negotiated);
  };
  socket.setTimeout(10_000, () => finish(false, 0));
  socket.once('secureConnect', () => {
    resumed = socket.isSessionReused();
    negotiated = `${socket.getProtocol() ?? '?'} ${socket.getCipher().standardName}`;
    socket.write(request);
  });
  socket.on('data', (chunk: Buffer) => {
    data = data.length === 0 ? chunk : Buffer.concat([data, chunk]);
    const { responses } = parseResponses(data, false);
    const r = responses[0];
    if (r !== undefined) finish(true, r.status);
  });
  socket.once('error', () => finish(false, 0));
  socket.once('close', () => finish(false, 0));
}

function main(): void {
  const [portText, path, connectionsText, secondsText] = process.argv.slice(2);
  const port = Number(portText);
  const connections = Number(connectionsText);
  const seconds = Number(secondsText);
  if (!(port > 0) || path === undefined || !(connections > 0) || !(seconds > 0)) {
    process.stderr.write('usage: tls-handshake-client PORT PATH CONNECTIONS SECONDS\n');
    process.exit(2);
  }
  const request = Buffer.from(`GET ${path} HTTP/1.1\r\nHost: localhost:${port}\r\nConnection: close\r\n\r\n`, 'latin1');
  let latencies = new Float64Array(1 << 16);
  let requests = 0;
  let errors = 0;
  let non2xx = 0;
  let resumedCount = 0;
  let lastNegotiated = '';
  const t0 = performance.now();
  const endAt = t0 + seconds * 1000;
  let running = connections;
  const loop = (): void => {
    const start = performance.now();
    if (start >= endAt) {
      running -= 1;
      if (running === 0) report();
      return;
    }
    oneExchange(port, request, (ok, status, resumed, negotiated) => {
      if (!ok) errors += 1;
      else {
        if (requests === latencies.length) {
          const grown = new Float64Array(latencies.length * 2);
          grown.set(latencies);
          latencies = grown;
        }
        latencies[requests] = performance.now() - start;
        requests += 1;
        if (status < 200 || status >= 400) non2xx += 1;
        if (resumed) resumedCount += 1;
        lastNegotiated = negotiated;
      }
      loop();
    });
  };
  const report = (): void => {
    const sorted = latencies.slice(0, requests).sort();
    const run: HandshakeRun = {
      requests,
      durationSec: (performance.now() - t0) / 1000,
      p50Ms: percentile(sorted, 50),
      p99Ms: percentile(sorted, 99),
      errors,
      non2xx,
      resumed: resumedCount,
      negotiated: lastNegotiated,
    };
    process.stdout.write(`${JSON.stringify(run)}\n`);
  };
  for (let i = 0; i < connections; i++) loop();
}

if (require.main === module) main();
