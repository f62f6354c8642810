// V8 settings the forwarding threads need, applied once when a thread starts.
//
// Allocation-site pretenuring: V8 watches how many objects from each array or
// object literal survive a scavenge and, past a threshold, allocates that
// literal's objects straight in the old generation. A request's arrays (its
// header list, the response head's) survive a scavenge whenever the request is
// in flight at that moment, which under load is often enough for V8 to
// pretenure them; they then die in the old generation, and everything written
// into them afterwards (header strings, Buffer views, the route) is kept alive
// through the remembered set and promoted too, until a mark-compact. Measured
// on 100 B keep-alive requests (wrk -c64, 2 threads, --trace-gc-nvp): 254 B
// promoted per request and a mark-compact every ~15 000 requests with it, 0 B
// and none without (README issue 10).
//
// Parallel scavenging: V8 splits each scavenge into jobs for its platform
// threads and the forwarding thread waits for them. On cores that the
// forwarding threads, the clients and the nodes keep busy, those threads start
// late, and the whole thread stops while it waits: measured at 100 B
// keep-alive (wrk -c64, 2 threads, --trace-gc, 100 steady-state scavenges of
// ~1.6 MB each, every ~35 ms), pauses of 0.74 ms median, 1.24 p90, 5.1 p99
// with it and 0.26 / 0.88 / 2.1 ms without: a young generation this small is
// faster to scavenge alone than to hand out (README issue 10). Read by V8 at
// each scavenge, so it can be set after start-up.
//
// V8 flags are per process: this also applies to the primary thread, whose
// allocations (MCMP messages, the status page) are short-lived in the same way.
import v8 from 'node:v8';

let applied = false;

export function tuneV8ForForwarding(): void {
  if (applied) return;
  applied = true;
  // Read by the garbage collector at each scavenge, so setting it after start-up takes effect from the next one.
  v8.setFlagsFromString('--no-allocation-site-pretenuring');
  v8.setFlagsFromString('--no-parallel-scavenge');
}
