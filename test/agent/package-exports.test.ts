// `import { ClusterAgent } from 'mcmp-edge/agent'` resolves through the
// package's exports (Node's self-reference, as an installed package would),
// with its type declarations beside it; the main entry works too.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';

test('mcmp-edge/agent and mcmp-edge resolve to the agent, with .d.ts files', () => {
  const agentPath = require.resolve('mcmp-edge/agent');
  assert.equal(agentPath, path.resolve(__dirname, '../../src/agent/index.js'));
  const agent = require('mcmp-edge/agent') as typeof import('../../src/agent');
  assert.equal(typeof agent.ClusterAgent, 'function');
  assert.ok(fs.existsSync(agentPath.replace(/\.js$/, '.d.ts')));
  const main = require('mcmp-edge') as typeof import('../../src/index');
  assert.equal(main.ClusterAgent, agent.ClusterAgent);
});
