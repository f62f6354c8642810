// The upstream connections' deadline (deadline.ts) on real timers: it runs out
// no sooner than its duration after the last arm or refresh, an earlier
// deadline is not held up by a later one armed before it, and a disarmed or
// cleared deadline never runs out. The timer behind it is moved only when a
// deadline comes earlier, so these are the cases where that could go wrong.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { performance } from 'node:perf_hooks';
import { setTimeout as sleep } from 'node:timers/promises';
import { Deadline } from '../../src/forward/upstream/deadline';

/** What ran out, and when (ms since `start`). */
interface Expiry {
  kind: number;
  at: number;
}

function watched(): { deadline: Deadline<number>; expiries: Expiry[]; start: number; ran: Promise<void> } {
  const expiries: Expiry[] = [];
  const start = performance.now();
  let ranOut: () => void = () => {};
  const ran = new Promise<void>((resolve) => (ranOut = resolve));
  const deadline = new Deadline<number>((kind) => {
    expiries.push({ kind, at: performance.now() - start });
    ranOut();
  });
  return { deadline, expiries, start, ran };
}

/** Whether `promise` settles within `ms`. */
async function within(promise: Promise<void>, ms: number): Promise<boolean> {
  return Promise.race([promise.then(() => true), sleep(ms).then(() => false)]);
}

// Loose upper bounds: the machine is shared and loaded; the lower bounds are the contract.
const LATE_MS = 2000;

describe('upstream deadline', () => {
  it('runs out once, with its kind, no sooner than its duration', async () => {
    const w = watched();
    w.deadline.arm(1, 100);
    assert.equal(w.deadline.kind, 1);
    assert.ok(await within(w.ran, LATE_MS), 'ran out');
    assert.equal(w.expiries.length, 1);
    assert.equal(w.expiries[0]?.kind, 1);
    assert.ok((w.expiries[0]?.at ?? 0) >= 99, `ran out after ${w.expiries[0]?.at} ms`);
    assert.equal(w.deadline.kind, 0);
    await sleep(150);
    assert.equal(w.expiries.length, 1, 'once');
  });

  it('armed again before it runs out: counts from the new arm (the timer fires early and sleeps again)', async () => {
    const w = watched();
    w.deadline.arm(1, 100);
    await sleep(60);
    const rearmedAt = performance.now() - w.start;
    w.deadline.arm(2, 100);
    assert.ok(await within(w.ran, LATE_MS));
    assert.equal(w.expiries[0]?.kind, 2);
    assert.ok((w.expiries[0]?.at ?? 0) >= rearmedAt + 99, `ran out at ${w.expiries[0]?.at} ms, re-armed at ${rearmedAt}`);
  });

  it('kept alive by arms every 30 ms for 400 ms, then runs out 100 ms after the last', async () => {
    const w = watched();
    let last = 0;
    for (let i = 0; i < 14; i++) {
      last = performance.now() - w.start;
      w.deadline.arm(1 + (i % 3), 100);
      await sleep(30);
      assert.equal(w.expiries.length, 0, `ran out at ${w.expiries[0]?.at} ms while re-armed every 30 ms`);
    }
    assert.ok(await within(w.ran, LATE_MS));
    assert.equal(w.expiries[0]?.kind, 1 + (13 % 3));
    assert.ok((w.expiries[0]?.at ?? 0) >= last + 99);
  });

  it('a shorter deadline after a long one is not held up by the long timer', async () => {
    const w = watched();
    w.deadline.arm(1, 300_000);
    w.deadline.arm(2, 300_000);
    await sleep(20);
    const armedAt = performance.now() - w.start;
    w.deadline.arm(3, 80);
    assert.ok(await within(w.ran, LATE_MS), 'the 80 ms deadline ran out, not after 300 s');
    assert.equal(w.expiries[0]?.kind, 3);
    assert.ok((w.expiries[0]?.at ?? 0) >= armedAt + 79);
    w.deadline.clear();
  });

  it('refresh() starts the running deadline over; without a deadline it does nothing', async () => {
    const w = watched();
    w.deadline.refresh();
    w.deadline.arm(4, 100);
    await sleep(60);
    const refreshedAt = performance.now() - w.start;
    w.deadline.refresh();
    assert.ok(await within(w.ran, LATE_MS));
    assert.equal(w.expiries[0]?.kind, 4);
    assert.ok((w.expiries[0]?.at ?? 0) >= refreshedAt + 99, `ran out at ${w.expiries[0]?.at} ms, refreshed at ${refreshedAt}`);
  });

  it('disarmed, or armed with 0, never runs out; armed again afterwards, it does', async () => {
    const w = watched();
    w.deadline.arm(1, 50);
    w.deadline.disarm();
    assert.equal(w.deadline.kind, 0);
    await sleep(150);
    w.deadline.arm(2, 50);
    w.deadline.arm(3, 0);
    assert.equal(w.deadline.kind, 0);
    await sleep(150);
    assert.equal(w.expiries.length, 0);
    w.deadline.arm(5, 40);
    assert.ok(await within(w.ran, LATE_MS));
    assert.equal(w.expiries[0]?.kind, 5);
  });

  it('clear() cancels it for good (the connection closed)', async () => {
    const w = watched();
    w.deadline.arm(1, 40);
    w.deadline.clear();
    assert.equal(await within(w.ran, 200), false);
    assert.deepEqual(w.expiries, []);
  });

  it('the keep-alive pattern: head, body, idle per request; idle runs out only once the requests stop', async () => {
    const w = watched();
    let idleArmedAt = 0;
    for (let i = 0; i < 10; i++) {
      w.deadline.arm(1, 300_000); // head
      await sleep(5);
      w.deadline.arm(2, 300_000); // body
      w.deadline.refresh();
      w.deadline.disarm(); // complete
      idleArmedAt = performance.now() - w.start;
      w.deadline.arm(3, 60); // idle
      await sleep(25);
    }
    assert.equal(w.expiries.length, 0, `ran out at ${w.expiries[0]?.at} ms during traffic`);
    assert.ok(await within(w.ran, LATE_MS));
    assert.equal(w.expiries[0]?.kind, 3);
    assert.ok((w.expiries[0]?.at ?? 0) >= idleArmedAt + 59);
  });
});
