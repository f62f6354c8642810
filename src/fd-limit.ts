// The descriptor limit of the process (issue 13). Node raises the soft
// RLIMIT_NOFILE to the hard limit itself when it starts (PlatformInit in
// node.cc), so there is no setrlimit to call from JavaScript; this module
// reads both limits from /proc/self/limits, raises the soft one with
// util-linux prlimit(1) on our own pid only if it is still below the hard one,
// and counts open descriptors. A native addon or a `ulimit -n` wrapper is not
// needed for any of it.
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';

export interface FdLimits {
  /** Infinity for "unlimited". */
  readonly soft: number;
  readonly hard: number;
}

function limitValue(text: string): number {
  return text === 'unlimited' ? Infinity : Number(text);
}

/** Parses the "Max open files" line of /proc/<pid>/limits; undefined where there is no /proc. */
export function readFdLimits(limitsText?: string): FdLimits | undefined {
  let text = limitsText;
  if (text === undefined) {
    try {
      text = fs.readFileSync('/proc/self/limits', 'utf8');
    } catch {
      return undefined;
    }
  }
  const m = /^Max open files\s+(\S+)\s+(\S+)/m.exec(text);
  if (m === null) return undefined;
  const soft = limitValue(m[1] as string);
  const hard = limitValue(m[2] as string);
  return Number.isNaN(soft) || Number.isNaN(hard) ? undefined : { soft, hard };
}

export interface RaiseResult {
  /** What the process started with, as far as it can be seen (node may already have raised it). */
  readonly before: FdLimits | undefined;
  readonly after: FdLimits | undefined;
  /** Who raised the soft limit: node at start, prlimit now, or nobody (already at the hard limit, or not possible). */
  readonly raisedBy: 'node-or-already' | 'prlimit' | 'not-raised';
  /** Why prlimit could not raise it. */
  readonly error?: string;
}

/** Makes sure the soft limit is the hard one. */
export function raiseFdLimit(): RaiseResult {
  const before = readFdLimits();
  if (before === undefined || before.soft >= before.hard) return { before, after: before, raisedBy: 'node-or-already' };
  const hard = before.hard === Infinity ? 'unlimited' : String(before.hard);
  try {
    execFileSync('prlimit', ['--pid', String(process.pid), `--nofile=${hard}:`], { stdio: 'ignore', timeout: 5000 });
  } catch (err) {
    return { before, after: readFdLimits(), raisedBy: 'not-raised', error: (err as Error).message.split('\n')[0] };
  }
  const after = readFdLimits();
  return { before, after, raisedBy: after !== undefined && after.soft >= before.hard ? 'prlimit' : 'not-raised' };
}

/**
 * Descriptors open in this process now (all threads); Infinity when there is
 * not even one left to list them with; -1 where /proc is missing.
 */
export function openFdCount(): number {
  try {
    return fs.readdirSync('/proc/self/fd').length - 1; // the directory handle of the listing itself
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return code === 'EMFILE' || code === 'ENFILE' ? Infinity : -1;
  }
}
