// Shared start-up of a proxy process: spawn, wait for its port, wait until a
// request through it reaches the backend, and on any failure stop it and
// explain what happened with the tail of its output (and error log).
import { readFileSync } from 'node:fs';
import { BODY_PATHS, BODY_SIZES } from '../backend';
import { waitForHttp200, waitForPort } from '../net';
import { ProcessStartError, spawnTracked, type Tracked } from '../proc';
import type { RunningTarget, TargetKind } from './types';

export interface LaunchOptions {
  readonly label: string;
  readonly kind: TargetKind;
  readonly command: string;
  readonly args: readonly string[];
  /** Client-traffic port to wait for. */
  readonly port: number;
  /** A log file worth showing when start-up fails. */
  readonly errorLog?: string;
  readonly startTimeoutMs?: number;
  /** Runs after the port accepts connections, before the first request (mcmp-edge registers its backend here). */
  readonly afterListen?: (t: Tracked) => Promise<void>;
  readonly managerPort?: number;
  /** Extra environment for the proxy process. */
  readonly env?: Readonly<Record<string, string>>;
  /** The request that proves the proxy reaches its backend (default: the uWS backend's small body). */
  readonly ready?: { readonly path: string; readonly bytes: number };
}

function tailOf(file: string | undefined): string {
  if (file === undefined) return '';
  try {
    return `\n${file}:\n${readFileSync(file, 'utf8').slice(-2000)}`;
  } catch {
    return '';
  }
}

export async function launchProxy(o: LaunchOptions): Promise<RunningTarget> {
  const timeoutMs = o.startTimeoutMs ?? 15_000;
  const t = spawnTracked(o.command, o.args, o.env === undefined ? {} : { env: { ...process.env, ...o.env } });
  let exited = false;
  void t.exited.then(() => {
    exited = true;
  });
  const alive = (): boolean => !exited;
  const fail = async (why: string): Promise<never> => {
    await t.stop();
    throw new ProcessStartError(`${o.label} did not start: ${why}\n${t.output().slice(-2000)}${tailOf(o.errorLog)}`);
  };
  if (!(await waitForPort(o.port, timeoutMs, alive))) {
    await fail(exited ? 'it exited' : `port ${o.port} not listening after ${timeoutMs} ms`);
  }
  if (o.afterListen !== undefined) {
    try {
      await o.afterListen(t);
    } catch (e) {
      await fail(e instanceof Error ? e.message : String(e));
    }
  }
  const ready = o.ready ?? { path: BODY_PATHS.small, bytes: BODY_SIZES.small };
  const problem = await waitForHttp200(o.port, ready.path, ready.bytes, timeoutMs, alive);
  if (problem !== undefined) await fail(`GET ${ready.path} through it did not return 200 with ${ready.bytes} bytes (last: ${problem})`);
  return {
    label: o.label,
    kind: o.kind,
    port: o.port,
    pid: t.pid,
    managerPort: o.managerPort,
    stop: () => t.stop(),
  };
}
