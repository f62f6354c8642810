// Starts the real mcmp-edge command (dist/src/cli.js) as a child process on
// ephemeral loopback ports and learns the ports from its ready line on stdout.
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import readline from 'node:readline';

export const CLI = path.resolve(__dirname, '../../src/cli.js');

export interface ProxyProcess {
  child: ChildProcess;
  listenPort: number;
  managerPort: number;
  /** Ports of --listen-tls, in order (empty without it). */
  tlsPorts: number[];
  /** Every log line (parsed JSON) seen so far. */
  logs: Array<Record<string, unknown>>;
  /** Standard output lines after the ready line (--access-log -). */
  stdout: string[];
  /** Sends SIGTERM and resolves with the exit code. */
  stop(signal?: NodeJS.Signals): Promise<number | null>;
}

/** `wrap` runs the command through another one, e.g. ['ip', 'netns', 'exec', NAME] (test/advertise). */
export function startProxy(args: string[] = [], timeoutMs = 30000, wrap: readonly string[] = []): Promise<ProxyProcess> {
  const command = [...wrap, process.execPath, CLI, '--listen', '127.0.0.1:0', '--manager', '127.0.0.1:0', ...args];
  const child = spawn(command[0]!, command.slice(1), {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const logs: Array<Record<string, unknown>> = [];
  const stdout: string[] = [];
  let ready = false;
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`proxy did not start within ${timeoutMs} ms; logs: ${JSON.stringify(logs.slice(-5))}`));
    }, timeoutMs);
    const rl = readline.createInterface({ input: child.stderr! });
    rl.on('line', (line) => {
      try {
        logs.push(JSON.parse(line) as Record<string, unknown>);
      } catch {
        logs.push({ msg: line });
      }
    });
    const out = readline.createInterface({ input: child.stdout! });
    let tlsPorts: number[] = [];
    out.on('line', (line) => {
      if (ready) {
        stdout.push(line);
        return;
      }
      const tls = /^mcmp-edge TLS: clients on (.+)$/.exec(line);
      if (tls !== null) tlsPorts = (tls[1] as string).split(', ').map((a) => Number(a.slice(a.lastIndexOf(':') + 1)));
      const m = /^mcmp-edge ready: clients on (.+):(\d+), MCMP and status page on (.+):(\d+)$/.exec(line);
      if (m === null) return;
      ready = true;
      clearTimeout(timer);
      resolve({
        child,
        listenPort: Number(m[2]),
        managerPort: Number(m[4]),
        tlsPorts,
        logs,
        stdout,
        stop: (signal = 'SIGTERM') => {
          if (child.exitCode === null) child.kill(signal);
          return exited;
        },
      });
    });
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`proxy exited with ${code} before starting; logs: ${JSON.stringify(logs.slice(-5))}`));
    });
  });
}
