// The load of the TLS handshake runs, as its own process:
//   node tls-handshake-client.js PORT PATH CONNECTIONS SECONDS [resume]
// Each of CONNECTIONS loops opens a TLS connection WITHOUT offering a session
// (so every handshake is a full one: key exchange and certificate signature),
// sends one `Connection: close` GET, reads the whole response and starts
// over. wrk cannot measure this: it keeps its last session and resumes
// (nginx's $ssl_session_reused: 328 of 332 wrk connections resumed over TLS 1.3;
// this client: 0 of 63). With `resume` each loop offers the session of its
// previous connection instead, as a returning client does, and the run says
// how many the server resumed: a server that cannot decrypt the ticket (another
// thread's key) answers with a full handshake.
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
  /** Handshakes the server resumed (0 without `resume`: no session is ever offered). */
  readonly resumed: number;
  /** Protocol and cipher of the last handshake, e.g. "TLSv1.3 TLS_AES_256_GCM_SHA384". */
  readonly negotiated: string;
}

function percentile(sorted: Float64Array, p: number): number {
  if (sorted.length === 0) return NaN;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number;
}

function oneExchange(port: number, request: Buffer, session: Buffer | undefined, onDone: (ok: boolean, status: number, resumed: boolean, negotiated: string, next: Buffer | undefined) => void): void {
  const socket = tls.connect({ host: LOOPBACK, port, servername: 'localhost', rejectUnauthorized: false, ...(session !== undefined ? { session } : {}) });
  // The server's last ticket (TLS 1.3 sends them after the handshake, before the response here).
  let next: Buffer | undefined;
  socket.on('session', (s: Buffer) => (next = s));
  let data: Buffer = Buffer.alloc(0);
  let finished = false;
  let resumed = false;
  let negotiated = '';
  const finish = (ok: boolean, status: number): void => {
    if (finished) return;
    finished = true;
    socket.destroy();
    onDone(ok, status, resumed, negotiated, next);
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
  const [portText, path, connectionsText, secondsText, mode] = process.argv.slice(2);
  const port = Number(portText);
  const connections = Number(connectionsText);
  const seconds = Number(secondsText);
  const resume = mode === 'resume';
  if (!(port > 0) || path === undefined || !(connections > 0) || !(seconds > 0) || (mode !== undefined && !resume)) {
    process.stderr.write('usage: tls-handshake-client PORT PATH CONNECTIONS SECONDS [resume]\n');
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
  const loop = (session?: Buffer): void => {
    const start = performance.now();
    if (start >= endAt) {
      running -= 1;
      if (running === 0) report();
      return;
    }
    oneExchange(port, request, session, (ok, status, resumed, negotiated, next) => {
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
      loop(resume ? (next ?? session) : undefined);
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
