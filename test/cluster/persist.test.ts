import { test } from 'node:test';
import assert from 'node:assert/strict';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { resolveDirectives } from '../../src/config/directives';
import { decodeSnapshot, encodeSnapshot, PERSIST_FILE, persistenceDirectory, PersistError, TablePersistence } from '../../src/cluster/persist';
import { NodeFlag } from '../../src/slots/counters';
import { Harness } from '../mcmp/harness';

async function tempDir(t: { after: (fn: () => Promise<void>) => void }): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'mcmp-edge-persist-'));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function populated(): Promise<Harness> {
  const h = new Harness({ directives: [['EnableOptions', 'Off'], ['Maxsessionid', 4]] });
  await h.ok('CONFIG', 'JVMRoute=a&Host=127.0.0.1&Port=9000&Type=http&Balancer=shop&StickySessionCookie=SID&Domain=d1&ttl=30');
  await h.ok('CONFIG', 'JVMRoute=b&Host=127.0.0.1&Port=9001&Type=ajp&Alias=x.example,y.example&Context=/one,/two');
  await h.ok('ENABLE-APP', 'JVMRoute=a&Alias=localhost&Context=/app');
  await h.ok('STATUS', 'JVMRoute=a&Load=50');
  h.state.recordSession('S1.a', 'a');
  return h;
}

test('the tables are saved after changes and a restart restores them', async (t) => {
  const dir = await tempDir(t);
  const h = await populated();
  const saver = new TablePersistence({ state: h.state, directory: dir, logger: h.logger, debounceMs: 5 });
  saver.start();
  await h.ok('DISABLE-APP', 'JVMRoute=b&Alias=y.example&Context=/two');
  await saver.stop();
  assert.ok(saver.saves >= 1);
  const dumpBefore = await h.dump();

  const again = new Harness({ directives: [['EnableOptions', 'Off'], ['Maxsessionid', 4]] });
  const loader = new TablePersistence({ state: again.state, directory: dir, logger: again.logger });
  const restored = await loader.load();
  assert.equal(restored, 2 + 2 + 3 + 5);
  assert.equal(await again.dump(), dumpBefore);
  assert.deepEqual(again.tables.reader.snapshot().nodes.filter(Boolean), again.state.nodes(), 'restored rows are published');
  assert.deepEqual(
    again.state.sessions().map((s) => [s.sessionId, s.route]),
    [['S1.a', 'a']],
  );
  // Restored nodes are re-used workers: unusable until their first STATUS (D11).
  assert.equal(again.counters.lbfactor(0), -1);
  assert.ok((again.counters.flags(0) & NodeFlag.InError) !== 0);
  await again.ok('STATUS', 'JVMRoute=a&Load=60');
  assert.equal(again.counters.flags(0), 0);
});

test('every change is saved: a burst within the debounce is one write, later changes another', async (t) => {
  const dir = await tempDir(t);
  const h = new Harness();
  const saver = new TablePersistence({ state: h.state, directory: dir, logger: h.logger, debounceMs: 20 });
  saver.start();
  await h.ok('CONFIG', 'JVMRoute=a&Host=127.0.0.1&Port=9000&Type=http');
  await h.ok('CONFIG', 'JVMRoute=b&Host=127.0.0.1&Port=9001&Type=http');
  const deadline = Date.now() + 2000;
  while (saver.saves < 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  assert.equal(saver.saves, 1);
  await h.ok('CONFIG', 'JVMRoute=c&Host=127.0.0.1&Port=9002&Type=http');
  await saver.stop();
  assert.equal(saver.saves, 2);
  const names = await readdir(dir);
  assert.deepEqual(names, [PERSIST_FILE], 'no temporary file is left behind');
});

test('a missing file is a first start', async (t) => {
  const dir = await tempDir(t);
  const h = new Harness();
  assert.equal(await new TablePersistence({ state: h.state, directory: dir, logger: h.logger }).load(), 0);
});

test('an unreadable file is logged and ignored: the proxy starts empty', async (t) => {
  const dir = await tempDir(t);
  await writeFile(path.join(dir, PERSIST_FILE), Buffer.from('not msgpack at all \xff\xfe'));
  const h = new Harness();
  assert.equal(await new TablePersistence({ state: h.state, directory: dir, logger: h.logger }).load(), 0);
  assert.deepEqual(h.state.nodes(), []);
  assert.ok(h.logs.some((l) => l.level === 40 && l.msg === 'persisted tables ignored'));
});

test('a row of the wrong shape is dropped and named; the rows around it are kept', () => {
  const sizes = { maxNode: 4, maxHost: 4, maxContext: 4, maxBalancer: 4, maxSession: 0 };
  const node = { id: 0, route: 'a', balancer: 'b', domain: '', host: 'h', port: 1, type: 'http', upgrade: '', ajpSecret: '', reversed: false, flushPackets: 0, flushWaitUs: 0, pingUs: 0, ttlUs: 0, timeoutUs: 0, smax: -1, responseFieldSize: 0, removed: false } as const;
  const balancer = { id: 0, name: 'b', stickySession: true, stickySessionCookie: 'J', stickySessionPath: 'j', stickySessionRemove: false, stickySessionForce: true, waitWorkerUs: 0, maxAttempts: 1 };
  const hosts = [{ id: 0, alias: 'a', vhost: 1, node: 0 }, { id: 1, alias: 7, vhost: 1, node: 0 } as never];
  const decoded = decodeSnapshot(encodeSnapshot({ nodes: [node], balancers: [balancer], hosts, contexts: [], sessions: [] }, 0), sizes);
  assert.equal(decoded.snapshot.hosts.length, 1);
  assert.deepEqual(decoded.dropped, [{ entry: 'hosts[1]', reason: 'alias: expected a string' }]);
  assert.throws(() => decodeSnapshot(Buffer.from([0xc1]), sizes), (e: unknown) => e instanceof PersistError);
});

test('rows that no longer fit smaller tables are dropped on load', async (t) => {
  const dir = await tempDir(t);
  const big = new Harness({ directives: [['Maxnode', 4]] });
  for (let i = 0; i < 3; i++) await big.ok('CONFIG', `JVMRoute=n${i}&Host=127.0.0.1&Port=${9000 + i}&Type=http`);
  await new TablePersistence({ state: big.state, directory: dir, logger: big.logger }).save();
  const small = new Harness({ directives: [['Maxnode', 2]] });
  await new TablePersistence({ state: small.state, directory: dir, logger: small.logger }).load();
  assert.deepEqual(
    small.state.nodes().map((n) => n.route),
    ['n0', 'n1'],
  );
  assert.ok(small.logs.some((l) => l.msg.includes('dropped')));
});

test('PersistSlots Off means no directory; On uses MemManagerFile or <root>/logs', () => {
  assert.equal(persistenceDirectory(resolveDirectives([])), undefined);
  assert.equal(persistenceDirectory(resolveDirectives([['PersistSlots', 'On']]), '/srv/edge'), '/srv/edge/logs');
  assert.equal(persistenceDirectory(resolveDirectives([['PersistSlots', 'On'], ['MemManagerFile', 'state']]), '/srv/edge'), '/srv/edge/state');
  assert.equal(persistenceDirectory(resolveDirectives([['PersistSlots', 'On'], ['MemManagerFile', '/var/lib/edge']]), '/srv/edge'), '/var/lib/edge');
});

test('the directory is created when missing', async (t) => {
  const dir = await tempDir(t);
  const nested = path.join(dir, 'a', 'b');
  const h = new Harness();
  await h.ok('CONFIG', 'JVMRoute=a');
  await new TablePersistence({ state: h.state, directory: nested, logger: h.logger }).save();
  assert.deepEqual(await readdir(nested), [PERSIST_FILE]);
});
