// Closed-loop keep-alive round trips over every connection of one transport:
// each connection sends the next request when the whole previous response is
// in. Responses have a fixed length (the harness's nginx returns the same
// bytes each time), so framing costs the same few operations on every path
// and the figure is the I/O's.
import process from 'node:process';
import { TransportError, type Transport } from './transport';

export interface LoopResult {
  readonly roundTrips: number;
  readonly userUs: number;
  readonly systemUs: number;
  readonly seconds: number;
}

export const REQUEST = 'GET /100b HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: upstream-io-bench\r\n\r\n';

/** Runs `warmupMs`, then measures this process's CPU over `durationMs` of round trips. */
export async function runLoop(
  transport: Transport,
  port: number,
  connections: number,
  responseBytes: number,
  warmupMs: number,
  durationMs: number,
): Promise<LoopResult> {
  const received = new Int32Array(connections);
  let roundTrips = 0;
  let running = true;
  let failure: Error | null = null;
  await transport.open(port, connections, (conn, _buf, start, end) => {
    const got = (received[conn] as number) + (end - start);
    if (got < responseBytes) {
      received[conn] = got;
      return;
    }
    if (got > responseBytes) {
      failure ??= new TransportError(`connection ${conn}: ${got} bytes for a ${responseBytes}-byte response`);
      running = false;
      return;
    }
    received[conn] = 0;
    roundTrips++;
    if (running) transport.send(conn, REQUEST);
  });
  for (let i = 0; i < connections; i++) transport.send(i, REQUEST);
  await sleep(warmupMs);
  const before = process.cpuUsage();
  const trips0 = roundTrips;
  const t0 = process.hrtime.bigint();
  await sleep(durationMs);
  const cpu = process.cpuUsage(before);
  const trips = roundTrips - trips0;
  const seconds = Number(process.hrtime.bigint() - t0) / 1e9;
  running = false;
  await sleep(50);
  transport.close();
  if (failure !== null) throw failure;
  return { roundTrips: trips, userUs: cpu.user, systemUs: cpu.system, seconds };
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
