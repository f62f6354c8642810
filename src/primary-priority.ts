// The primary thread (MCMP, probes, the status page, the maintenance tick)
// runs at a lower CPU priority than the forwarding threads, so that a flood
// of MCMP messages takes its CPU from the management plane and not from client
// traffic. Measured in one bench run (README "MCMP STATUS rate"): with nice 10
// on the primary thread, client p99 during a STATUS flood stayed at its level
// without the flood; at equal priority it rose by half.
//
// Linux keeps a nice value per thread: setpriority(PRIO_PROCESS, 0) changes
// the calling thread only (os.setPriority(0, n) from the primary thread), so
// the forwarding threads keep the process's own. A thread created later takes
// the value of the thread creating it, hence:
//   - it is applied after the forwarding threads are running, and after
//     libuv's thread pool exists (the forwarding threads' DNS lookups and file
//     writes run there);
//   - a forwarding thread replaced after a crash is created by the primary
//     and inherits its nice value; an unprivileged process cannot lower it
//     again, so the replacement runs at the primary's priority until the next
//     start (said once in the log, when it is applied).
// Elsewhere setpriority(0) would change the whole process, so nothing is done.
import { promises as fs } from 'node:fs';
import os from 'node:os';
import type { Logger } from './log';

export interface PrimaryPriority {
  /** The nice value of the primary thread before and after; equal when nothing changed. */
  readonly before: number;
  readonly after: number;
}

/** Lowers the calling thread's priority by `increment` nice levels (capped at 19). */
export async function lowerPrimaryPriority(increment: number, logger: Logger, platform: NodeJS.Platform = process.platform): Promise<PrimaryPriority> {
  const before = os.getPriority(0);
  if (increment === 0) return { before, after: before };
  if (platform !== 'linux') {
    logger.info({ platform, primaryNice: increment }, 'PrimaryNice: only Linux sets a nice value per thread; the primary thread keeps the priority of the forwarding threads');
    return { before, after: before };
  }
  // libuv starts its whole thread pool on first use: make sure that is before, at the current priority.
  await fs.stat(__filename);
  const after = Math.min(19, before + increment);
  try {
    os.setPriority(0, after);
  } catch (err) {
    logger.warn({ err: (err as Error).message, nice: after }, 'PrimaryNice: the primary thread priority could not be lowered; it keeps that of the forwarding threads');
    return { before, after: before };
  }
  logger.info({ nice: after, forwardingThreadsNice: before }, 'primary thread (MCMP, probes, status page) runs at a lower priority than the forwarding threads (PrimaryNice); a forwarding thread replaced after a crash inherits the lower one until the next start');
  return { before, after };
}
