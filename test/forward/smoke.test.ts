import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { fetchText, json, newAgent, startBackend, startHarness, type Backend, type Harness } from './fixtures';

describe('smoke', () => {
  let h: Harness;
  let a: Backend;
  before(async () => {
    h = await startHarness();
    a = await startBackend('a');
    h.addNode(0, a, [[0, '/app']]);
  });
  after(async () => {
    await h.close();
    await a.close();
  });
  it('forwards', async () => {
    const agent = newAgent();
    const r = await fetchText(agent, h.origin, '/app/x?y=1');
    assert.equal(r.status, 200, r.body);
    assert.equal(json(r).backend, 'a');
    await agent.close();
  });
});
