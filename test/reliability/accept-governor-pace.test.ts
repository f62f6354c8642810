// The accept governor's own cost: each look lists /proc/self/fd, so it looks
// seldom while descriptors are far from the limit and every pollMs near it,
// and the descriptors it holds back stay few however high the limit is.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { AcceptGovernor, fdReserve } from '../../src/forward/accept-governor';

function lookCount(openFds: number, runMs: number): Promise<number> {
  let looks = 0;
  const governor = new AcceptGovernor({
    fdLimit: 20_000,
    maxConnections: 0,
    port: () => 0,
    setAccepting: () => undefined,
    logger: pino({ level: 'silent' }),
    pollMs: 10,
    openFds: () => {
      looks++;
      return openFds;
    },
  });
  governor.start();
  return new Promise((resolve) =>
    setTimeout(() => {
      governor.stop();
      resolve(looks);
    }, runMs),
  );
}

test('the reserve is capped: a high descriptor limit does not make every listing long', () => {
  assert.equal(fdReserve(300), 32);
  assert.equal(fdReserve(1200), 60);
  assert.equal(fdReserve(20_000), 256);
  assert.equal(fdReserve(1_048_576), 256);
});

test('far from the limit the governor looks ten times less often than near it', async () => {
  // 600 ms at pollMs 10: ~6 looks far from the limit, ~60 near it (bounds leave room for a loaded machine).
  const far = await lookCount(300, 600);
  const near = await lookCount(15_000, 600);
  assert.ok(far <= 8, `far from the limit: ${far} looks in 600 ms`);
  assert.ok(near >= 20, `near the limit: ${near} looks in 600 ms`);
});
