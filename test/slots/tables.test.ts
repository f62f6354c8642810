import assert from 'node:assert/strict';
import path from 'node:path';
import { test } from 'node:test';
import { Worker } from 'node:worker_threads';
import { BALANCER_DEFAULTS } from '../../src/cluster/defaults';
import { ContextStatus } from '../../src/slots/rows';
import { SlotTables, tableSizes } from '../../src/slots/tables';
import { contextFor, nodeFor } from './torn-check';

const sizes = { maxNode: 8, maxHost: 8, maxContext: 16, maxBalancer: 8 };

test('a published row reads back field for field, and a freed slot reads as empty', () => {
  const tables = SlotTables.create(sizes);
  const p = tables.publisher;
  p.begin();
  p.node(3, nodeFor(3, 42));
  p.context(0, contextFor(0, 42));
  p.host(1, { id: 1, alias: 'ünïcode.example', vhost: 2, node: 3 });
  p.balancer(0, { ...BALANCER_DEFAULTS, id: 0, name: 'mycluster' });
  p.commit();
  const snap = tables.reader.snapshot();
  assert.deepEqual(snap.nodes[3], nodeFor(3, 42));
  assert.deepEqual(snap.contexts[0], contextFor(0, 42));
  assert.equal(snap.hosts[1]?.alias, 'ünïcode.example');
  assert.equal(snap.balancers[0]?.stickySessionCookie, 'JSESSIONID');
  assert.equal(snap.nodes[0], undefined);
  p.begin();
  p.node(3, undefined);
  p.commit();
  assert.equal(tables.reader.snapshot().nodes[3], undefined);
  assert.deepEqual(tables.reader.snapshot().contexts[0], { id: 0, path: contextFor(0, 42).path, vhost: 42 % 9, node: 42 % 4, status: ContextStatus.Enabled });
});

test('the version is even when stable and changes with every batch', () => {
  const tables = SlotTables.create(sizes);
  const v0 = tables.reader.version();
  assert.equal(v0 % 2, 0);
  tables.publisher.begin();
  assert.equal(tables.reader.version() % 2, 1);
  tables.publisher.node(0, nodeFor(0, 1));
  tables.publisher.commit();
  const v1 = tables.reader.version();
  assert.equal(v1 % 2, 0);
  assert.notEqual(v1, v0);
  assert.equal(tables.reader.tableVersion('nodes'), 1);
  assert.equal(tables.reader.tableVersion('contexts'), 0);
});

test('writes outside a batch, oversized strings and out-of-range slots are refused', () => {
  const tables = SlotTables.create(sizes);
  assert.throws(() => tables.publisher.node(0, nodeFor(0, 1)), { code: 'ERR_MCMP_EDGE_SLOT_WRITE' });
  tables.publisher.begin();
  assert.throws(() => tables.publisher.node(8, nodeFor(8, 1)), RangeError);
  assert.throws(() => tables.publisher.node(0, { ...nodeFor(0, 1), route: 'x'.repeat(500) }), RangeError);
  tables.publisher.commit();
});

test('a thread attaches to the buffer and sees the same rows; it cannot publish', () => {
  const tables = SlotTables.create(tableSizes({ Maxnode: 4, Maxhost: 4, Maxcontext: 4 }));
  tables.publisher.begin();
  tables.publisher.node(1, nodeFor(1, 9));
  tables.publisher.commit();
  const attached = SlotTables.attach(tables.buffer);
  assert.deepEqual(attached.reader.snapshot().nodes[1], nodeFor(1, 9));
  assert.throws(() => attached.publisher, { code: 'ERR_MCMP_EDGE_SLOT_WRITE' });
  assert.throws(() => SlotTables.attach(new SharedArrayBuffer(64)), { code: 'ERR_MCMP_EDGE_SLOT_LAYOUT' });
});

test('readers in worker threads never see a torn record or a mixed batch while the primary writes thousands of changes', async () => {
  const tables = SlotTables.create(sizes);
  // [stop flag, snapshots taken by reader 0, 1, 2]
  const stopBuffer = new SharedArrayBuffer(16);
  const shared = new Int32Array(stopBuffer);
  const readers = [0, 1, 2].map(
    (index) => new Worker(path.join(__dirname, 'torn-reader.js'), { workerData: { buffer: tables.buffer, stopBuffer, index } }),
  );
  const results = readers.map(
    (w) => new Promise<{ snapshots: number; distinctVersions: number; problems: string[] }>((resolve, reject) => {
      w.once('message', resolve);
      w.once('error', reject);
    }),
  );
  await Promise.all(readers.map((w) => new Promise((r) => w.once('online', r))));
  const p = tables.publisher;
  // At least 3 s and 1000 batches, and on until every reader has taken 50
  // snapshots: on a loaded machine a reader thread may get little CPU while
  // the writer runs (bounded: 60 s, 400 000 batches).
  const started = Date.now();
  const fewestSnapshots = (): number => Math.min(shared[1] as number, shared[2] as number, shared[3] as number);
  const more = (k: number): boolean => {
    const elapsed = Date.now() - started;
    if (k > 400_000 || elapsed > 60_000) return false;
    return elapsed < 3000 || k <= 1000 || fewestSnapshots() < 50;
  };
  let batches = 0;
  // Each batch rewrites every slot from one k; some batches free a slot so
  // readers also race against slots appearing and disappearing.
  for (let k = 1; more(k); k++) {
    p.begin();
    for (let id = 0; id < sizes.maxNode; id++) p.node(id, (k + id) % 13 === 0 ? undefined : nodeFor(id, k));
    for (let id = 0; id < sizes.maxContext; id++) p.context(id, (k + id) % 17 === 0 ? undefined : contextFor(id, k));
    p.commit();
    batches++;
    if (k % 200 === 0) await new Promise((r) => setImmediate(r));
  }
  Atomics.store(shared, 0, 1);
  const out = await Promise.all(results);
  await Promise.all(readers.map((w) => w.terminate()));
  assert.ok(batches >= 1000, `only ${batches} batches written`);
  for (const r of out) {
    assert.deepEqual(r.problems, []);
    assert.ok(r.snapshots > 10, `reader took only ${r.snapshots} snapshots`);
    assert.ok(r.distinctVersions > 2, 'reader saw the tables change');
  }
});
