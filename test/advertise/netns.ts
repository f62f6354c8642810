// A private network namespace for multicast tests: only loopback, up, with
// multicast on and a route for 224.0.0.0/4 on it, so nothing ever reaches a
// real interface. Needs root (CI runs as root); without it the tests skip and
// say why.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import readline from 'node:readline';

let count = 0;

export class Netns {
  readonly name: string;
  readonly #children = new Set<ChildProcess>();

  private constructor(name: string) {
    this.name = name;
  }

  /** A new namespace, or the reason it cannot be made here. */
  static create(options: { multicastRoute?: boolean } = {}): Netns | string {
    if (process.getuid?.() !== 0) return 'network namespaces need root (CI runs the tests as root)';
    const name = `mcmpedge-${process.pid}-${++count}`;
    const steps = [
      ['netns', 'add', name],
      ['-n', name, 'link', 'set', 'lo', 'up'],
      ['-n', name, 'link', 'set', 'lo', 'multicast', 'on'],
      ...(options.multicastRoute === false ? [] : [['-n', name, 'route', 'add', '224.0.0.0/4', 'dev', 'lo']]),
    ];
    for (const args of steps) {
      const r = spawnSync('ip', args, { encoding: 'utf8' });
      if (r.error !== undefined || r.status !== 0) {
        spawnSync('ip', ['netns', 'del', name]);
        return `cannot set up a network namespace (ip ${args.join(' ')}): ${r.error?.message ?? r.stderr.trim()}`;
      }
    }
    return new Netns(name);
  }

  /** The prefix that runs a command inside (ip netns exec keeps the pid: signals reach the program itself). */
  get wrap(): string[] {
    return ['ip', 'netns', 'exec', this.name];
  }

  /** Starts a node script inside; every stdout line is parsed as JSON and handed to onLine. */
  node(script: string, args: string[], onLine: (event: Record<string, unknown>) => void): ChildProcess {
    const child = spawn('ip', ['netns', 'exec', this.name, process.execPath, script, ...args], { stdio: ['ignore', 'pipe', 'inherit'] });
    this.#children.add(child);
    child.once('exit', () => this.#children.delete(child));
    readline.createInterface({ input: child.stdout! }).on('line', (line) => onLine(JSON.parse(line) as Record<string, unknown>));
    return child;
  }

  /** Runs a command inside and returns its stdout. */
  run(command: string, args: string[]): string {
    const r = spawnSync('ip', ['netns', 'exec', this.name, command, ...args], { encoding: 'utf8', timeout: 20_000 });
    if (r.status !== 0) throw new Error(`${command} ${args.join(' ')} in ${this.name}: ${r.error?.message ?? r.stderr}`);
    return r.stdout;
  }

  async destroy(): Promise<void> {
    await Promise.all(
      [...this.#children].map(
        (c) =>
          new Promise<void>((resolve) => {
            if (c.exitCode !== null || c.signalCode !== null) return resolve();
            c.once('exit', () => resolve());
            c.kill('SIGKILL');
          }),
      ),
    );
    spawnSync('ip', ['netns', 'del', this.name]);
  }
}

/** Resolves when `check` holds, polling; fails naming `what` after timeoutMs. */
export async function until(what: string, check: () => boolean, timeoutMs = 20_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
