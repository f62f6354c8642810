// One MCMP message through McmpHandler.handle, as the primary runs it after
// parsing: STATUS (the message every node sends every few seconds) and INFO
// (what the Java worker asks after a failure, and the status tools poll).
import type { McmpRequestInfo } from '../../src/mcmp/handler';
import { createCluster, type ClusterFixture } from './cluster-fixture';
import type { MicroSuite } from './harness';

const NODES = 10;
const CONTEXTS_PER_NODE = 10;

function request(methodUpper: string, body: string): McmpRequestInfo {
  return { methodUpper, target: '/', accept: '', body: Buffer.from(body, 'latin1'), bodyTooLarge: false, peer: '127.0.0.1' };
}

async function tenNodes(): Promise<ClusterFixture> {
  const f = createCluster([['Maxcontext', NODES * CONTEXTS_PER_NODE]]);
  for (let n = 0; n < NODES; n++) {
    await f.mcmp('CONFIG', `JVMRoute=node${n}&Host=10.0.0.${n + 1}&Port=8080&Type=http`);
    const contexts = Array.from({ length: CONTEXTS_PER_NODE }, (_, i) => `/app${i}`).join(',');
    await f.mcmp('ENABLE-APP', `JVMRoute=node${n}&Alias=localhost,app.example.com&Context=${contexts}`);
    await f.mcmp('STATUS', `JVMRoute=node${n}&Load=50`);
  }
  return f;
}

export const mcmpHandlerSuite: MicroSuite = {
  name: 'MCMP handler round (10 nodes, 100 contexts)',
  async build() {
    const f = await tenNodes();
    const status = request('STATUS', 'JVMRoute=node5&Load=87');
    const info = request('INFO', '');
    const enable = request('ENABLE-APP', 'JVMRoute=node5&Alias=localhost,app.example.com&Context=/app3');
    return [
      { name: 'STATUS Load=87 (EnableOptions Off: no probe)', async: true, fn: () => Promise.resolve(f.handler.handle(status)) },
      { name: 'INFO, plain text', async: true, fn: () => Promise.resolve(f.handler.handle(info)) },
      { name: 'ENABLE-APP of an enabled context', async: true, fn: () => Promise.resolve(f.handler.handle(enable)) },
    ];
  },
};
