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
// V8 flags are per process: this also applies to the primary thread, whose
// allocations (MCMP messages, the status page) are short-lived in the same way.
import v8 from 'node:v8';

let applied = false;

export function tuneV8ForForwarding(): void {
  if (applied) return;
  applied = true;
  // Read by the garbage collector at each scavenge, so setting it after start-up takes effect from the next one.
  v8.setFlagsFromString('--no-allocation-site-pretenuring');
}
