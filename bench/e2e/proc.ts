// Child processes of the bench and what /proc says about them. Every process
// the bench starts goes through `spawnTracked`, so one exit hook can stop them
// all, whatever way the bench ends (normal end, error, Ctrl-C).
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { readFileSync, readdirSync, writeFileSync } from 'node:fs';

export class ProcessStartError extends Error {
  readonly code = 'ERR_BENCH_PROCESS_START';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'ProcessStartError';
  }
}

export interface Tracked {
  readonly child: ChildProcess;
  readonly pid: number;
  /** Last bytes of stdout+stderr, for error messages. */
  output(): string;
  /** Resolves once the process has exited. */
  readonly exited: Promise<number | null>;
  /** SIGTERM to the process group, SIGKILL after `graceMs`. */
  stop(graceMs?: number): Promise<void>;
}

const live = new Set<Tracked>();
let interrupted = false;

/** True once a signal asked the bench to stop: nothing new is started. */
export function isInterrupted(): boolean {
  return interrupted;
}
const OUTPUT_KEEP = 8192;

/**
 * Starts a command in its own process group (so stopping it also stops the
 * workers it forks) with stdin held open by us: node children exit when it
 * closes, which covers the case where this process dies without cleaning up.
 */
export function spawnTracked(command: string, args: readonly string[], opts: SpawnOptions = {}): Tracked {
  if (interrupted) throw new ProcessStartError(`not starting ${command}: the bench is stopping`);
  const child = spawn(command, args, { ...opts, detached: true, stdio: ['pipe', 'pipe', 'pipe'] });
  let tail = '';
  const keep = (d: Buffer): void => {
    tail = (tail + d.toString('utf8')).slice(-OUTPUT_KEEP);
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  child.stdin?.on('error', () => undefined);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code, signal) => resolve(code ?? (signal !== null ? -1 : null)));
    child.once('error', (err) => {
      keep(Buffer.from(`spawn error: ${err.message}\n`));
      resolve(-1);
    });
  });
  const pid = child.pid ?? -1;
  let exitedFlag = false;
  void exited.then(() => {
    exitedFlag = true;
    live.delete(tracked);
  });
  const tracked: Tracked = {
    child,
    pid,
    output: () => tail,
    exited,
    async stop(graceMs = 3000) {
      if (exitedFlag || pid <= 0) return;
      signalGroup(pid, 'SIGTERM');
      const timer = setTimeout(() => signalGroup(pid, 'SIGKILL'), graceMs);
      await exited;
      clearTimeout(timer);
      // Workers of a master that died first may still be around.
      signalGroup(pid, 'SIGKILL');
    },
  };
  if (pid > 0) live.add(tracked);
  installExitHooks();
  return tracked;
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // Already gone.
  }
}

/** Stops every process still running. */
export async function stopAll(): Promise<void> {
  await Promise.all([...live].map((t) => t.stop()));
}

let hooksInstalled = false;
function installExitHooks(): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  // Synchronous last resort: 'exit' handlers cannot wait.
  process.on('exit', () => {
    for (const t of live) signalGroup(t.pid, 'SIGKILL');
  });
  for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(sig, () => {
      interrupted = true;
      process.stderr.write(`\nbench: ${sig}, stopping child processes\n`);
      void stopAll().finally(() => process.exit(130));
    });
  }
}

/** Waits for a line on stdout matching `test`, or fails when the process exits or time runs out. */
export function waitForLine(t: Tracked, test: (line: string) => boolean, timeoutMs: number, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    let buf = '';
    const onData = (d: Buffer): void => {
      buf += d.toString('utf8');
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (test(line)) {
          done();
          resolve(line);
          return;
        }
      }
    };
    const timer = setTimeout(() => {
      done();
      reject(new ProcessStartError(`${what}: not ready after ${timeoutMs} ms. Output:\n${t.output()}`));
    }, timeoutMs);
    const onExit = (): void => {
      done();
      reject(new ProcessStartError(`${what}: exited before it was ready. Output:\n${t.output()}`));
    };
    const done = (): void => {
      clearTimeout(timer);
      t.child.stdout?.off('data', onData);
      t.child.off('exit', onExit);
    };
    t.child.stdout?.on('data', onData);
    t.child.once('exit', onExit);
  });
}

// ---- /proc readers -------------------------------------------------------

let ticksPerSecond = 100;
/** CLK_TCK; Linux uses 100 on every common configuration. */
export function setClockTicks(hz: number): void {
  ticksPerSecond = hz;
}

/** The process and all its descendants (via /proc/<pid>/task/<tid>/children). */
export function processTree(pid: number): number[] {
  const out: number[] = [];
  const queue = [pid];
  while (queue.length > 0 && out.length < 4096) {
    const p = queue.shift() as number;
    out.push(p);
    let tasks: string[];
    try {
      tasks = readdirSync(`/proc/${p}/task`);
    } catch {
      continue;
    }
    for (const tid of tasks) {
      try {
        const kids = readFileSync(`/proc/${p}/task/${tid}/children`, 'latin1').trim();
        if (kids.length > 0) for (const k of kids.split(/\s+/)) queue.push(Number(k));
      } catch {
        // Task ended meanwhile.
      }
    }
  }
  return out;
}

/** utime+stime of one process (all its threads) in microseconds; 0 if gone. */
export function cpuMicros(pid: number): number {
  let stat: string;
  try {
    stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return 0;
  }
  // The command name may contain spaces and parentheses: fields start after the last ')'.
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 and 15 of stat(5) are utime and stime; here indexes 11 and 12.
  const ticks = Number(fields[11]) + Number(fields[12]);
  return (ticks * 1e6) / ticksPerSecond;
}

/** CPU microseconds of a process tree (taken over the tree as it is now). */
export function treeCpuMicros(pid: number): number {
  let sum = 0;
  for (const p of processTree(pid)) sum += cpuMicros(p);
  return sum;
}

function statusKiB(pid: number, field: string): number {
  try {
    const text = readFileSync(`/proc/${pid}/status`, 'latin1');
    const m = new RegExp(`^${field}:\\s+(\\d+) kB`, 'm').exec(text);
    return m === null ? 0 : Number(m[1]);
  } catch {
    return 0;
  }
}

/** Sum of VmHWM (peak resident set) over the tree, in KiB. */
export function treePeakRssKiB(pid: number): number {
  let sum = 0;
  for (const p of processTree(pid)) sum += statusKiB(p, 'VmHWM');
  return sum;
}

/** Resets the peak-RSS mark of every process of the tree (Linux ≥ 4.0), so each run reports its own peak. */
export function resetPeakRss(pid: number): void {
  for (const p of processTree(pid)) {
    try {
      writeFileSync(`/proc/${p}/clear_refs`, '5');
    } catch {
      // Not permitted or gone: the peak then covers the process's whole life.
    }
  }
}
