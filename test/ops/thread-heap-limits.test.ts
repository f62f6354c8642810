// Each forwarding thread runs with the heap limits of src/forward/heap-limits.ts
// (README "Memory"), as V8 applied them inside the thread: an old-generation
// ceiling under 2 GiB is what makes V8 grow the heap by at most 2x after a
// full GC instead of 4x. Without the setting a thread's ceiling is the
// machine-derived default (4 GiB on a 16+ GiB machine), and this fails.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { startProxy } from '../helpers/proxy-process';

test('every forwarding thread listens with an old generation under 2 GiB', async () => {
  const proxy = await startProxy(['--threads', '2', '--log-level', 'debug']);
  try {
    const deadline = Date.now() + 10_000;
    const listening = (): Array<Record<string, unknown>> => proxy.logs.filter((l) => l.msg === 'forwarding thread listening');
    while (listening().length < 2 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    const lines = listening();
    assert.equal(lines.length, 2, JSON.stringify(proxy.logs.slice(-5)));
    assert.deepEqual(lines.map((l) => l.thread).sort(), [0, 1]);
    for (const line of lines) {
      const limit = line.heapLimitMiB;
      assert.equal(typeof limit, 'number', JSON.stringify(line));
      // 1024 MiB old + the 4 MiB young generation (V8 adds its semi-spaces and a new large object space).
      assert.ok((limit as number) >= 1024 && (limit as number) < 1100, `thread ${String(line.thread)}: heap limit ${String(limit)} MiB`);
    }
  } finally {
    await proxy.stop();
  }
});
