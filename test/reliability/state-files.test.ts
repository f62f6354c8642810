// Issue 13, "bad state files": a PersistSlots file that is readable but holds
// rows no CONFIG would accept, or a path that cannot be read, never stops a
// start. Bad rows are dropped with a warning naming the file and the entry;
// good rows are restored.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { NODE_CONFIG_DEFAULTS, BALANCER_DEFAULTS } from '../../src/cluster/defaults';
import { encodeSnapshot, PERSIST_FILE, TablePersistence } from '../../src/cluster/persist';
import type { StateSnapshot } from '../../src/cluster/state';
import { ContextStatus, type BalancerRow, type NodeRow } from '../../src/slots/rows';
import { Harness } from '../mcmp/harness';
import { startProxy } from '../helpers/proxy-process';
import { mcmpRequest, sendRaw } from '../helpers/raw-http';
import { parseCommandLine, UsageError } from '../../src/options/args';

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'mcmp-edge-state-'));
}

const balancer: BalancerRow = { id: 0, name: 'mycluster', ...BALANCER_DEFAULTS };

function node(id: number, route: string, over: Partial<NodeRow> = {}): NodeRow {
  return { ...NODE_CONFIG_DEFAULTS, id, route, balancer: 'mycluster', host: '127.0.0.1', port: 9000 + id, type: 'http', removed: false, ...over };
}

/** One good node with an alias and a context, then one crafted row per rule. */
function craftedSnapshot(): StateSnapshot {
  return {
    balancers: [balancer, { ...balancer, id: 1 }, { ...balancer, id: 2, name: 'x'.repeat(500) }],
    nodes: [
      node(0, 'good'),
      node(1, 'r'.repeat(5000)),
      node(2, 'negative', { port: -1 }),
      node(3, 'huge', { port: 700000 }),
      node(0, 'same-id'),
      node(4, 'good'),
      node(5, 'badtype', { type: 'gopher' as never }),
      node(6, 'shape', { timeoutUs: 'soon' as never }),
      node(7, 'nobalancer', { balancer: 'elsewhere' }),
      node(100000, 'far'),
    ],
    hosts: [
      { id: 0, alias: 'localhost', vhost: 1, node: 0 },
      { id: 1, alias: 'orphan', vhost: 1, node: 1 },
      { id: 2, alias: 'a'.repeat(300), vhost: 1, node: 0 },
    ],
    contexts: [
      { id: 0, path: '/app', vhost: 1, node: 0, status: ContextStatus.Enabled },
      { id: 1, path: `/${'c'.repeat(100 * 1024)}`, vhost: 1, node: 0, status: ContextStatus.Enabled },
      { id: 2, path: '/ghost', vhost: 9, node: 0, status: ContextStatus.Enabled },
      { id: 3, path: '/odd', vhost: 1, node: 0, status: 42 as ContextStatus },
      { id: 0, path: '/dup', vhost: 1, node: 0, status: ContextStatus.Enabled },
    ],
    sessions: [],
  };
}

const EXPECTED_DROPS: ReadonlyArray<[string, RegExp]> = [
  ['balancers[1]', /already defined by balancers\[0\]|already used/],
  ['balancers[2]', /name is 500 bytes, at most 39/],
  ['nodes[1]', /route is 5000 bytes, at most 63/],
  ['nodes[2]', /Port -1 is not 1\.\.65535/],
  ['nodes[3]', /Port 700000/],
  ['nodes[4]', /id 0 already used by nodes\[0\]/],
  ['nodes[5]', /JVMRoute "good" already used by nodes\[0\]/],
  ['nodes[6]', /Type "gopher"/],
  ['nodes[7]', /timeoutUs: expected a number/],
  ['nodes[8]', /balancer "elsewhere" is not in the file/],
  ['nodes[9]', /id 100000 outside the table/],
  ['hosts[1]', /node 1 is not in the file/],
  ['hosts[2]', /alias is 300 bytes, at most 254/],
  ['contexts[1]', /path is 102401 bytes, at most 79/],
  ['contexts[2]', /vhost 9 of node 0 has no alias/],
  ['contexts[3]', /status 42 unknown/],
  ['contexts[4]', /id 0 already used by contexts\[0\]/],
];

test('crafted rows are dropped one by one, each named with its file and reason; the good rows are restored', async () => {
  const dir = tempDir();
  try {
    fs.writeFileSync(path.join(dir, PERSIST_FILE), encodeSnapshot(craftedSnapshot(), Date.now()));
    const h = new Harness();
    const loader = new TablePersistence({ state: h.state, directory: dir, logger: h.logger });
    const restored = await loader.load();
    assert.equal(restored, 1 + 1 + 1 + 1, 'one balancer, one node, one alias, one context');
    assert.deepEqual(
      h.state.nodes().map((n) => [n.route, n.port]),
      [['good', 9000]],
    );
    const drops = h.logs.filter((l) => l.msg === 'persisted row dropped') as unknown as Array<{ file: string; entry: string; reason: string }>;
    assert.deepEqual(
      drops.map((d) => d.entry).sort(),
      EXPECTED_DROPS.map(([e]) => e).sort(),
    );
    for (const [entry, reason] of EXPECTED_DROPS) {
      const line = drops.find((d) => d.entry === entry);
      assert.ok(line !== undefined && reason.test(line.reason), `${entry}: ${line?.reason ?? 'not dropped'}`);
      assert.equal(line.file, loader.file);
      assert.ok(JSON.stringify(line).length < 400, `${entry}: the warning quotes a bounded part of the value`);
    }
    // The restored node works like one CONFIG made.
    assert.match((await h.send('DUMP')).body, /node: \[0:0\],Balancer: mycluster,JVMRoute: good,.*Port: 9000/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a table that is not a list, or a file with no tables, is a warning and an empty or partial start', async () => {
  const dir = tempDir();
  try {
    const h = new Harness();
    const loader = new TablePersistence({ state: h.state, directory: dir, logger: h.logger });
    const snapshot = { ...craftedSnapshot(), hosts: 'oops', contexts: [] } as unknown as StateSnapshot;
    fs.writeFileSync(loader.file, encodeSnapshot(snapshot, 0));
    await loader.load();
    assert.ok(h.logs.some((l) => l.msg === 'persisted row dropped' && (l as unknown as { entry: string }).entry === 'hosts'));
    assert.deepEqual(
      h.state.nodes().map((n) => n.route),
      ['good'],
    );
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('a directory where the file should be, or an unreadable file, is one warning and an empty start', async () => {
  const dir = tempDir();
  try {
    const h = new Harness();
    const loader = new TablePersistence({ state: h.state, directory: dir, logger: h.logger });
    fs.mkdirSync(loader.file);
    assert.equal(await loader.load(), 0);
    const line = h.logs.find((l) => l.level === 40) as unknown as { file: string; code: string; msg: string } | undefined;
    assert.ok(line !== undefined, 'a warning');
    assert.equal(line.file, loader.file);
    assert.equal(line.code, 'EISDIR');
    // Saving into it fails too: one error line per episode, not one per change.
    loader.start();
    for (let i = 0; i < 5; i++) {
      await h.ok('CONFIG', `JVMRoute=n${i}&Host=127.0.0.1&Port=${9100 + i}&Type=http`);
      await new Promise((r) => setTimeout(r, 80));
    }
    assert.equal(h.logs.filter((l) => l.level === 50 && l.msg.startsWith('saving the tables failed')).length, 1);
    fs.rmdirSync(loader.file);
    await h.ok('CONFIG', 'JVMRoute=later&Host=127.0.0.1&Port=9200&Type=http');
    const deadline = Date.now() + 5000;
    while (!h.logs.some((l) => l.msg === 'saving the tables works again') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    assert.ok(h.logs.some((l) => l.msg === 'saving the tables works again'));
    await loader.stop();
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('the real command starts with a crafted file, and with a directory as the file', { timeout: 60_000 }, async () => {
  const dir = tempDir();
  const file = path.join(dir, PERSIST_FILE);
  const args = ['--threads', '1', '--log-level', 'warn', '--set', 'PersistSlots=On', '--set', `MemManagerFile=${dir}`];
  try {
    fs.writeFileSync(file, encodeSnapshot(craftedSnapshot(), Date.now()));
    const proxy = await startProxy(args);
    try {
      const dump = (await sendRaw(proxy.managerPort, mcmpRequest('DUMP'), { expect: 1 })).responses[0];
      assert.equal(dump?.status, 200);
      assert.match(dump?.body.toString('latin1') ?? '', /JVMRoute: good,/);
      assert.doesNotMatch(dump?.body.toString('latin1') ?? '', /negative|huge|rrrr/);
      const drops = proxy.logs.filter((l) => l['msg'] === 'persisted row dropped');
      assert.equal(drops.length, EXPECTED_DROPS.length);
      assert.ok(drops.every((l) => l['file'] === file));
    } finally {
      assert.equal(await proxy.stop('SIGTERM'), 0);
    }

    fs.rmSync(file, { force: true });
    fs.mkdirSync(file);
    const second = await startProxy(args);
    try {
      const warn = second.logs.find((l) => l['code'] === 'EISDIR');
      assert.equal(warn?.['file'], file);
      const dump = (await sendRaw(second.managerPort, mcmpRequest('DUMP'), { expect: 1 })).responses[0];
      assert.equal(dump?.status, 200);
    } finally {
      await second.stop('SIGTERM');
    }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test('--config: a directory, a device or a huge value is one bounded line naming the file, exit 2', () => {
  const dir = tempDir();
  try {
    const run = (file: string): string => {
      try {
        parseCommandLine(['--config', file]);
      } catch (err) {
        assert.ok(err instanceof UsageError, String(err));
        return err.message;
      }
      return 'accepted';
    };
    assert.equal(run(dir), `--config: ${dir} is not a regular file`);
    assert.equal(run('/dev/zero'), '--config: /dev/zero is not a regular file');
    const big = path.join(dir, 'big.yaml');
    fs.writeFileSync(big, `ManagerBalancerName: ${'x'.repeat(100 * 1024)}\n`);
    const line = run(big);
    assert.match(line, /^--config .*big\.yaml: ManagerBalancerName: bad value "x+… \(102402 characters\)/);
    assert.ok(line.length < 300, `bounded: ${line.length} characters`);
    const huge = path.join(dir, 'huge.yaml');
    fs.writeFileSync(huge, Buffer.alloc(2 * 1024 * 1024, 0x20));
    assert.match(run(huge), /huge\.yaml is 2097152 bytes; at most 1048576 accepted/);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
