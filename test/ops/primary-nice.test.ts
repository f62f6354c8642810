// PrimaryNice / --primary-nice: the primary thread (MCMP) runs below the
// forwarding threads. Linux keeps a nice value per thread; this reads every
// thread's from /proc of the real proxy process.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { test } from 'node:test';
import { CLI, startProxy } from '../helpers/proxy-process';

/** tid → nice (field 19 of /proc/PID/task/TID/stat) of every thread of `pid`. */
function threadNice(pid: number): Map<number, number> {
  const out = new Map<number, number>();
  for (const tid of fs.readdirSync(`/proc/${pid}/task`)) {
    try {
      const stat = fs.readFileSync(`/proc/${pid}/task/${tid}/stat`, 'latin1');
      out.set(Number(tid), Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[16]));
    } catch {
      // a thread that ended meanwhile
    }
  }
  return out;
}

/** The primary thread's nice and the set of every other thread's. */
async function niceOf(args: string[]): Promise<{ primary: number; others: Set<number>; threads: number; logs: Array<Record<string, unknown>> }> {
  const proxy = await startProxy(['--threads', '2', ...args]);
  try {
    const pid = proxy.child.pid as number;
    const all = threadNice(pid);
    const primary = all.get(pid) as number;
    all.delete(pid);
    return { primary, others: new Set(all.values()), threads: all.size, logs: proxy.logs };
  } finally {
    await proxy.stop();
  }
}

const linux = process.platform === 'linux';
/** What the proxy's threads start with: the nice value of this test's thread. */
const base = (): number => Number(fs.readFileSync(`/proc/self/task/${process.pid}/stat`, 'latin1').split(') ')[1]?.split(' ')[16]);

test('by default the primary thread runs 10 nice levels below every other thread of the process', { skip: linux ? false : 'why: per-thread nice values are Linux-only' }, async () => {
  const b = base();
  const r = await niceOf([]);
  assert.equal(r.primary, Math.min(19, b + 10));
  assert.deepEqual([...r.others], [b], 'forwarding threads, libuv pool and V8 threads keep the process priority');
  assert.ok(r.threads >= 2 + 4, `forwarding threads and libuv's pool among ${r.threads} threads`);
  assert.ok(r.logs.some((l) => l.nice === Math.min(19, b + 10) && typeof l.msg === 'string' && l.msg.includes('lower priority')), 'said in the log');
});

test('--primary-nice 0 leaves every thread alike; --primary-nice wins over PrimaryNice', { skip: linux ? false : 'why: per-thread nice values are Linux-only' }, async () => {
  const b = base();
  const off = await niceOf(['--primary-nice', '0']);
  assert.equal(off.primary, b);
  assert.deepEqual([...off.others], [b]);
  const directive = await niceOf(['--set', 'PrimaryNice=3']);
  assert.equal(directive.primary, Math.min(19, b + 3));
  assert.deepEqual([...directive.others], [b]);
  const both = await niceOf(['--set', 'PrimaryNice=3', '--primary-nice', '5']);
  assert.equal(both.primary, Math.min(19, b + 5));
});

test('a bad --primary-nice or PrimaryNice is one line naming it, exit 2', () => {
  for (const [args, line] of [
    [['--primary-nice', '20'], 'mcmp-edge: --primary-nice: bad value "20"; expected an integer 0..19'],
    [['--primary-nice', '-1'], null],
    [['--set', 'PrimaryNice=x'], null],
  ] as const) {
    const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8' });
    assert.equal(r.status, 2, args.join(' '));
    const lines = r.stderr.trimEnd().split('\n');
    assert.equal(lines.length, 1, r.stderr);
    assert.match(lines[0] as string, args[0] === '--set' ? /PrimaryNice/ : /--primary-nice/);
    if (line !== null) assert.equal(lines[0], line);
  }
});
