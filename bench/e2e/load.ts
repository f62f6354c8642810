// Load generators: wrk when installed (what PERFORMANCE.md measured with),
// else autocannon from node_modules. Each run is its own process, bounded in
// time, against a loopback port.
import path from 'node:path';
import { findExecutable } from './executables';
import { LOOPBACK } from './net';
import { spawnTracked } from './proc';

export interface LoadSpec {
  readonly port: number;
  readonly path: string;
  readonly connections: number;
  readonly durationSec: number;
  /** New connection per request: the client sends `Connection: close`. */
  readonly closeEachRequest: boolean;
  /** https: the target's port speaks TLS (`--tls`); default http. */
  readonly scheme?: 'http' | 'https';
}

export interface LoadResult {
  readonly tool: 'wrk' | 'autocannon' | 'tls-handshakes';
  readonly requests: number;
  readonly durationSec: number;
  readonly rps: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  /** Socket errors and timeouts. */
  readonly errors: number;
  /** Responses that were not 2xx/3xx. */
  readonly non2xx: number;
  /** TLS handshakes the server resumed (tls-handshakes in its resuming mode only). */
  readonly resumed?: number;
}

export class LoadError extends Error {
  readonly code = 'ERR_BENCH_LOAD';
  constructor(message: string) {
    super(message);
    this.name = 'LoadError';
  }
}

export interface LoadGenerator {
  readonly name: LoadResult['tool'];
  run(spec: LoadSpec): Promise<LoadResult>;
}

/** Runs a command to completion (killed after `limitMs`), returning its stdout. */
export async function runBounded(command: string, args: readonly string[], limitMs: number, what: string): Promise<string> {
  const t = spawnTracked(command, args);
  let out = '';
  t.child.stdout?.on('data', (d: Buffer) => {
    out += d.toString('utf8');
  });
  const timer = setTimeout(() => void t.stop(1000), limitMs);
  const code = await t.exited;
  clearTimeout(timer);
  if (code !== 0) throw new LoadError(`${what} exited with ${String(code)}: ${t.output().slice(-1000)}`);
  return out;
}

const UNIT_MS: Record<string, number> = { us: 0.001, ms: 1, s: 1000, m: 60_000 };

function durationMs(text: string): number {
  const m = /^([\d.]+)(us|ms|s|m)$/.exec(text.trim());
  if (m === null) return NaN;
  return Number(m[1]) * (UNIT_MS[m[2] as string] as number);
}

/** Reads wrk's `--latency` report. */
export function parseWrk(out: string): LoadResult {
  const num = (re: RegExp): number => {
    const m = re.exec(out);
    return m === null ? NaN : Number(m[1]);
  };
  const pct = (p: string): number => {
    const m = new RegExp(`^\\s+${p}%\\s+(\\S+)`, 'm').exec(out);
    return m === null ? NaN : durationMs(m[1] as string);
  };
  const total = /(\d+) requests in ([\d.]+)(us|ms|s|m)/.exec(out);
  const sock = /Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  const errors = sock === null ? 0 : Number(sock[1]) + Number(sock[2]) + Number(sock[3]) + Number(sock[4]);
  const result: LoadResult = {
    tool: 'wrk',
    requests: total === null ? NaN : Number(total[1]),
    durationSec: total === null ? NaN : durationMs(`${total[2]}${total[3]}`) / 1000,
    rps: num(/Requests\/sec:\s+([\d.]+)/),
    p50Ms: pct('50'),
    p99Ms: pct('99'),
    errors,
    non2xx: Number.isNaN(num(/Non-2xx or 3xx responses: (\d+)/)) ? 0 : num(/Non-2xx or 3xx responses: (\d+)/),
  };
  if (Number.isNaN(result.rps) || Number.isNaN(result.p99Ms)) throw new LoadError(`could not read wrk output:\n${out}`);
  return result;
}

export function wrkGenerator(bin: string): LoadGenerator {
  return {
    name: 'wrk',
    async run(s: LoadSpec): Promise<LoadResult> {
      const args = ['-t1', `-c${s.connections}`, `-d${s.durationSec}s`, '--timeout', '10s', '--latency'];
      if (s.closeEachRequest) args.push('-H', 'Connection: close');
      args.push(`${s.scheme ?? 'http'}://${LOOPBACK}:${s.port}${s.path}`);
      return parseWrk(await runBounded(bin, args, (s.durationSec + 20) * 1000, 'wrk'));
    },
  };
}

interface AutocannonJson {
  duration: number;
  errors: number;
  timeouts: number;
  non2xx: number;
  latency: { p50: number; p99: number };
  requests: { total: number };
}

export function autocannonGenerator(): LoadGenerator {
  const cli = path.join(path.dirname(require.resolve('autocannon/package.json')), 'autocannon.js');
  return {
    name: 'autocannon',
    async run(s: LoadSpec): Promise<LoadResult> {
      const args = [cli, '-c', String(s.connections), '-d', String(s.durationSec), '-j', '--timeout', '10'];
      if (s.closeEachRequest) args.push('-H', 'Connection: close');
      args.push(`${s.scheme ?? 'http'}://${LOOPBACK}:${s.port}${s.path}`);
      const out = await runBounded(process.execPath, args, (s.durationSec + 20) * 1000, 'autocannon');
      const j = JSON.parse(out.slice(out.indexOf('{'))) as AutocannonJson;
      return {
        tool: 'autocannon',
        requests: j.requests.total,
        durationSec: j.duration,
        rps: j.requests.total / j.duration,
        p50Ms: j.latency.p50,
        p99Ms: j.latency.p99,
        errors: j.errors + j.timeouts,
        non2xx: j.non2xx,
      };
    },
  };
}

/** wrk if installed (unless `prefer` says otherwise), else autocannon. */
export function pickLoadGenerator(prefer: 'auto' | 'wrk' | 'autocannon'): { gen: LoadGenerator; note: string } {
  const wrk = prefer === 'autocannon' ? undefined : findExecutable('wrk');
  if (wrk !== undefined) return { gen: wrkGenerator(wrk), note: `load: wrk (${wrk})` };
  if (prefer === 'wrk') throw new LoadError('wrk is not installed (apt-get install wrk)');
  return { gen: autocannonGenerator(), note: 'load: autocannon (wrk not installed: apt-get install wrk for steadier numbers)' };
}
