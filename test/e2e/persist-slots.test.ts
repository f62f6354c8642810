// PersistSlots through the real command: the tables written by one run are
// back in the next one before any MCMP traffic, with the nodes unusable until
// their first STATUS (as after an httpd restart with PersistSlots On).
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { test } from 'node:test';
import { mcmpRequest, sendRaw } from '../helpers/raw-http';
import { startProxy } from '../helpers/proxy-process';

test('PersistSlots On: a restarted proxy shows the nodes, aliases and contexts of the previous run', { timeout: 60_000 }, async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'mcmp-edge-persist-'));
  const args = ['--threads', '1', '--log-level', 'warn', '--set', 'PersistSlots=On', '--set', `MemManagerFile=${dir}`];
  const mcmp = async (port: number, method: string, body = ''): Promise<{ status: number; body: string }> => {
    const r = (await sendRaw(port, mcmpRequest(method, body), { expect: 1 })).responses[0];
    return { status: r?.status ?? 0, body: r?.body.toString('latin1') ?? '' };
  };
  const first = await startProxy(args);
  let dump: string;
  try {
    assert.equal((await mcmp(first.managerPort, 'CONFIG', 'JVMRoute=kept&Host=127.0.0.1&Port=18999&Type=http&Domain=dom1')).status, 200);
    assert.equal((await mcmp(first.managerPort, 'ENABLE-APP', 'JVMRoute=kept&Alias=localhost,kept.example&Context=/kept')).status, 200);
    dump = (await mcmp(first.managerPort, 'DUMP')).body;
    assert.match(dump, /JVMRoute: kept/);
  } finally {
    assert.equal(await first.stop('SIGTERM'), 0);
  }
  assert.ok(fs.readdirSync(dir).length > 0, 'the tables were written to MemManagerFile');
  const second = await startProxy(args);
  try {
    assert.equal((await mcmp(second.managerPort, 'DUMP')).body, dump);
    assert.match((await mcmp(second.managerPort, 'INFO')).body, /Name: kept,.*Load: -1\n/);
  } finally {
    await second.stop('SIGTERM');
  }
  const fresh = await startProxy(['--threads', '1', '--log-level', 'warn']);
  try {
    assert.equal((await mcmp(fresh.managerPort, 'DUMP')).body, '', 'without PersistSlots every start begins empty');
  } finally {
    await fresh.stop('SIGTERM');
  }
});
