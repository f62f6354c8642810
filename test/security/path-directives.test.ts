// Issue 7: the target rules under the directives that change them
// (AllowEncodedSlashes On / NoDecode, UseNocanon On), through the real proxy
// with the recording node: the status the client gets and exactly what the
// node saw, accepted by its strict parser.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { sendRaw } from '../helpers/raw-http';
import { startCluster, type Cluster } from './cluster';

type Case = [target: string, status: number, nodeSaw: string | null];

function suite(title: string, args: string[], cases: Case[]): void {
  describe(title, () => {
    let cluster: Cluster;
    before(async () => {
      cluster = await startCluster(args);
    });
    after(async () => {
      await cluster?.close();
    });
    for (const [target, status, nodeSaw] of cases) {
      it(`GET ${target} → ${status}, node sees ${nodeSaw ?? 'nothing'}`, async () => {
        const { node, proxy } = cluster;
        node.reset();
        const r = await sendRaw(proxy.listenPort, Buffer.from(`GET ${target} HTTP/1.1\r\nHost: localhost\r\n\r\n`, 'latin1'), { expect: 1 });
        await new Promise((resolve) => setTimeout(resolve, 50));
        assert.equal(r.responses[0]?.status, status);
        assert.deepEqual(node.parseErrors, []);
        if (nodeSaw === null) assert.equal(node.received, '');
        else assert.deepEqual(node.requests.map((s) => s.url), [nodeSaw]);
      });
    }
  });
}

suite('AllowEncodedSlashes On: %2F is a "/" before dot-segments are removed', ['--set', 'AllowEncodedSlashes=On'], [
  ['/app%2fx', 200, '/app/x'],
  ['/app/a%2Fb', 200, '/app/a/b'],
  ['/app%2f..%2fsecret', 404, null],
  ['/app/..%2f..%2fsecret', 400, null],
  ['/app/x%2f%2e%2e%2fy', 200, '/app/y'],
]);

suite('AllowEncodedSlashes NoDecode with UseNocanon On: %2F kept, escapes kept, still normalised', ['--set', 'AllowEncodedSlashes=NoDecode', '--set', 'UseNocanon=On'], [
  ['/app/a%2fb', 200, '/app/a%2fb'],
  // Kept escaped, so one segment to the proxy: safe only with nodes that do not decode %2F (README "Security").
  ['/app/..%2fsecret', 200, '/app/..%2fsecret'],
  ['/app/%2e%2e/secret', 404, null],
  ['/app/./x/../y', 200, '/app/y'],
  ['//app/x', 200, '/app/x'],
  ['/app/..;/secret', 400, null],
  // An escaped ";" stays escaped: part of the segment's name to the node too.
  ['/app/..%3b/secret', 200, '/app/..%3b/secret'],
  ['/app/x%3bjsessionid=1', 200, '/app/x%3bjsessionid=1'],
  ['/webapp1/../app/jsr%3aroot', 200, '/app/jsr%3aroot'],
  ['/app/caf\xc3\xa9', 200, '/app/caf%C3%A9'],
  ['/app/a"b', 200, '/app/a"b'],
  ['/app/%00', 400, null],
  ['/app/%c0%ae%c0%ae/x', 400, null],
]);
