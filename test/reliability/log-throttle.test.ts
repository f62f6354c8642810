// Issue 13, "repeated refusals": 403/408/400 of the MCMP listener are logged at
// most once per peer address and status a minute, with the count of the ones
// not logged; episodes (EMFILE, caps) are one line at the start and one at the end.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import pino from 'pino';
import { EpisodeLog, RefusalLog } from '../../src/log-throttle';
import { startProxy } from '../helpers/proxy-process';
import { mcmpRequest, sendRaw } from '../helpers/raw-http';

function capture(): { logger: pino.Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const logger = pino({ level: 'info' }, { write: (s: string) => lines.push(JSON.parse(s) as Record<string, unknown>) });
  return { logger, lines };
}

test('RefusalLog: one line per peer and kind per window, the next one carries the count', () => {
  const { logger, lines } = capture();
  let now = 0;
  const log = new RefusalLog(logger, 60_000, () => now);
  for (let i = 0; i < 50; i++) log.refused('10.0.0.1', 403, { peer: `10.0.0.1:${i}` }, 'refused');
  log.refused('10.0.0.2', 403, {}, 'refused');
  log.refused('10.0.0.1', 408, {}, 'timeout');
  assert.equal(lines.length, 3);
  now = 59_999;
  log.refused('10.0.0.1', 403, {}, 'refused');
  assert.equal(lines.length, 3);
  now = 60_000;
  log.refused('10.0.0.1', 403, {}, 'refused');
  assert.equal(lines.length, 4);
  assert.equal(lines[3]?.['notLoggedBefore'], 50);
});

test('EpisodeLog: a warn when it starts, an info with the count when it has been quiet', async () => {
  const { logger, lines } = capture();
  const log = new EpisodeLog(logger, 'out of something', 50);
  for (let i = 0; i < 100; i++) log.hit({ i });
  assert.equal(lines.length, 1);
  await new Promise((r) => setTimeout(r, 150));
  assert.equal(lines.length, 2);
  assert.equal(lines[1]?.['occurrences'], 100);
  assert.equal(log.active, false);
});

test('the real MCMP listener logs 30 refused connections from one address as one line', { timeout: 60_000 }, async () => {
  const proxy = await startProxy(['--threads', '1', '--log-level', 'info', '--allow', '127.0.0.1/32']);
  try {
    for (let i = 0; i < 30; i++) {
      const r = (await sendRaw(proxy.managerPort, mcmpRequest('INFO'), { expect: 1, localAddress: '127.0.0.2' })).responses[0];
      assert.equal(r?.status, 403);
    }
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(proxy.logs.filter((l) => l['msg'] === 'MCMP peer not in the allow list: 403').length, 1);
  } finally {
    await proxy.stop('SIGTERM');
  }
});
