import { test } from 'node:test';
import assert from 'node:assert/strict';
import { SlotTable } from '../../src/cluster/slot-table';
import { ClusterState, StateError } from '../../src/cluster/state';
import { ContextStatus } from '../../src/slots/rows';
import { resolveDirectives } from '../../src/config/directives';
import { ClusterCounters } from '../../src/slots/counters';
import type { TablePublisher } from '../../src/slots/types';
import { SlotTables, tableSizes } from '../../src/slots/tables';
import { Harness } from '../mcmp/harness';

test('a slot table gives the lowest free index and iterates in ascending order', () => {
  const t = new SlotTable<{ id: number; v: string }>(3);
  assert.equal(t.lowestFree(), 0);
  t.set({ id: 0, v: 'a' });
  t.set({ id: 2, v: 'c' });
  assert.equal(t.lowestFree(), 1);
  t.set({ id: 1, v: 'b' });
  assert.equal(t.lowestFree(), undefined);
  t.delete(0);
  assert.equal(t.lowestFree(), 0);
  assert.deepEqual(
    t.rows().map((r) => r.v),
    ['b', 'c'],
  );
  assert.equal(t.size, 2);
  assert.throws(() => t.set({ id: 3, v: 'x' }), RangeError);
});

/** Records the calls a state makes on its publisher. */
class RecordingPublisher implements TablePublisher {
  readonly calls: string[] = [];
  begin(): void {
    this.calls.push('begin');
  }
  node(id: number, row: unknown): void {
    this.calls.push(`node ${id} ${row === undefined ? 'free' : 'set'}`);
  }
  balancer(id: number, row: unknown): void {
    this.calls.push(`balancer ${id} ${row === undefined ? 'free' : 'set'}`);
  }
  host(id: number, row: unknown): void {
    this.calls.push(`host ${id} ${row === undefined ? 'free' : 'set'}`);
  }
  context(id: number, row: unknown): void {
    this.calls.push(`context ${id} ${row === undefined ? 'free' : 'set'}`);
  }
  commit(): void {
    this.calls.push('commit');
  }
}

function recordingState(): { state: ClusterState; publisher: RecordingPublisher } {
  const directives = resolveDirectives([]);
  const publisher = new RecordingPublisher();
  const counters = new ClusterCounters(directives.Maxnode, directives.Maxcontext);
  return { state: new ClusterState({ directives, publisher, counters }), publisher };
}

test('every write is published inside one begin/commit batch; nested transactions join the outer one', () => {
  const { state, publisher } = recordingState();
  state.transaction(() => {
    state.putBalancer({ name: 'b', stickySession: true, stickySessionCookie: 'J', stickySessionPath: 'j', stickySessionRemove: false, stickySessionForce: true, waitWorkerUs: 0, maxAttempts: 1 });
    state.putHost('a', 1, 0);
    state.transaction(() => state.putContext('/x', 1, 0, ContextStatus.Enabled));
  });
  assert.deepEqual(publisher.calls, ['begin', 'balancer 0 set', 'host 0 set', 'context 0 set', 'commit']);
  assert.equal(state.commits, 1);
});

test('a single write outside a transaction is its own batch', () => {
  const { state, publisher } = recordingState();
  state.putHost('a', 1, 0);
  state.deleteHost(0);
  assert.deepEqual(publisher.calls, ['begin', 'host 0 set', 'commit', 'begin', 'host 0 free', 'commit']);
});

test('what was written before a throw is still published, and listeners hear of it', () => {
  const { state, publisher } = recordingState();
  let heard = 0;
  state.onCommit(() => heard++);
  assert.throws(() =>
    state.transaction(() => {
      state.putHost('a', 1, 0);
      throw new Error('boom');
    }),
  );
  assert.deepEqual(publisher.calls, ['begin', 'host 0 set', 'commit']);
  assert.equal(heard, 1);
  assert.equal(state.hosts().length, 1);
});

test('an unchanged context is not re-published', () => {
  const { state, publisher } = recordingState();
  state.putContext('/x', 1, 0, ContextStatus.Enabled);
  const n = publisher.calls.length;
  state.putContext('/x', 1, 0, ContextStatus.Enabled);
  assert.equal(publisher.calls.length, n);
});

test('counters too small for the tables are refused', () => {
  const directives = resolveDirectives([]);
  assert.throws(
    () => new ClusterState({ directives, publisher: SlotTables.create(tableSizes(directives)).publisher, counters: new ClusterCounters(1, 1) }),
    (e: unknown) => e instanceof StateError && e.code === 'ERR_MCMP_EDGE_STATE',
  );
});

test('bookkeeping of a free slot is an error', () => {
  const h = new Harness();
  assert.throws(() => h.state.bookkeeping(0), StateError);
});

test('the session-id table is off with Maxsessionid 0', () => {
  const h = new Harness();
  h.state.recordSession('ABC.node1', 'node1');
  assert.equal(h.state.sessionTableEnabled, false);
  assert.deepEqual(h.state.sessions(), []);
});

test('session ids are recorded per id, counted per route, and the replaced id is dropped (D9)', () => {
  const h = new Harness({ directives: [['Maxsessionid', 3]] });
  h.state.recordSession('A.n1', 'n1');
  h.state.recordSession('B.n1', 'n1');
  h.state.recordSession('A.n1', 'n1');
  assert.equal(h.state.sessions().length, 2);
  assert.equal(h.state.sessionCount('n1'), 2);
  h.state.recordSession('C.n2', 'n2', 'B.n1');
  assert.deepEqual(
    h.state.sessions().map((s) => s.sessionId),
    ['A.n1', 'C.n2'],
  );
  h.state.recordSession('D.n2', 'n2');
  h.state.recordSession('E.n2', 'n2');
  assert.equal(h.state.sessions().length, 3, 'a full table ignores new ids');
});

test('session ids not refreshed for 300 s are purged', () => {
  const h = new Harness({ directives: [['Maxsessionid', 10]] });
  h.state.recordSession('old', 'n1');
  h.clock.advance(200);
  h.state.recordSession('young', 'n1');
  h.clock.advance(100);
  assert.equal(h.state.purgeSessions(), 0, 'exactly 300 s is still fresh');
  h.clock.advance(1);
  assert.equal(h.state.purgeSessions(), 1);
  assert.deepEqual(
    h.state.sessions().map((s) => s.sessionId),
    ['young'],
  );
});

test('a session id longer than 128 characters is stored truncated', () => {
  const h = new Harness({ directives: [['Maxsessionid', 1]] });
  h.state.recordSession('x'.repeat(200), 'n1');
  assert.equal(h.state.sessions()[0]?.sessionId.length, 128);
  h.clock.advance(301);
  assert.equal(h.state.purgeSessions(), 1);
  assert.deepEqual(h.state.sessions(), []);
});

test('SlotTable: lowest free slot after frees anywhere, and keyed look-ups that follow overwrites and frees', () => {
  const t = new SlotTable<{ id: number; k: string }>(4, (r) => r.k);
  for (let id = 0; id < 4; id++) {
    assert.equal(t.lowestFree(), id);
    t.set({ id, k: `k${id}` });
  }
  assert.equal(t.lowestFree(), undefined);
  t.delete(2);
  t.delete(1);
  assert.equal(t.lowestFree(), 1);
  t.set({ id: 1, k: 'new' });
  assert.equal(t.lowestFree(), 2);
  assert.equal(t.getByKey('k1'), undefined);
  assert.deepEqual(t.getByKey('new'), { id: 1, k: 'new' });
  t.set({ id: 3, k: 'k3b' });
  assert.equal(t.getByKey('k3'), undefined);
  assert.equal(t.getByKey('k3b')?.id, 3);
  t.delete(0);
  assert.equal(t.getByKey('k0'), undefined);
  assert.equal(t.lowestFree(), 0);
});
