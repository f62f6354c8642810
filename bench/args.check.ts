// Smoke check of the bench's flag parsing: `node dist/bench/args.check.js`.
// (Not part of `npm test`: the bench is a tool, its parser a small one.)
import assert from 'node:assert/strict';
import { BenchArgsError, parseBenchArgs, scenarioList } from './args';

const full = parseBenchArgs([], 2);
assert.deepEqual(full.threads, [1, 2]);
assert.deepEqual(full.sizes, ['small', 'medium', 'large']);
assert.equal(full.rounds, 3);
assert.equal(scenarioList(full).length, 6);
assert.deepEqual([...full.parts], ['micro', 'e2e', 'management']);

const quick = parseBenchArgs(['--quick'], 2);
assert.deepEqual(quick.threads, [2]);
assert.equal(quick.rounds, 1);
assert.deepEqual(
  scenarioList(quick).map((s) => `${s.size}/${s.mode}`),
  ['small/keep-alive', 'medium/keep-alive', 'small/close'],
);

const picked = parseBenchArgs(['--peers', 'nginx,HAProxy', '--sizes', '1m,100b', '--modes', 'close', '--threads', '1,4,1', '--only', 'e2e', '--edge-set', 'UseAlias=On', '--edge-set', 'Maxnode=50'], 2);
assert.deepEqual(picked.peers, ['nginx', 'haproxy']);
assert.deepEqual(picked.sizes, ['large', 'small']);
assert.deepEqual(parseBenchArgs(['--sizes', 'chunked,100b'], 2).sizes, ['chunked', 'small']);
assert.deepEqual(picked.modes, ['close']);
assert.deepEqual(picked.threads, [1, 4]);
assert.deepEqual([...picked.parts], ['e2e']);
assert.deepEqual(picked.edgeSets, ['UseAlias=On', 'Maxnode=50']);
assert.deepEqual(parseBenchArgs(['--peers', 'none'], 2).peers, []);
assert.deepEqual(full.edgeUpstreams, ['default']);
assert.deepEqual(parseBenchArgs(['--edge-upstream', 'undici,h1'], 2).edgeUpstreams, ['undici', 'h1']);
assert.deepEqual(parseBenchArgs([], 2).nodeTypes, ['http']);
assert.deepEqual(parseBenchArgs(['--node-types', 'http,ajp'], 2).nodeTypes, ['http', 'ajp']);

assert.deepEqual(full.accessLogFormats, []);
assert.deepEqual(parseBenchArgs(['--access-log', 'json,combined'], 2).accessLogFormats, ['json', 'combined']);

assert.equal(full.tls, false);
assert.equal(parseBenchArgs(['--tls'], 2).tls, true);
assert.deepEqual(parseBenchArgs(['--tls'], 2).tlsKeys, ['rsa']);
const ecdsa = parseBenchArgs(['--tls-key', 'ecdsa,rsa'], 2);
assert.equal(ecdsa.tls, true);
assert.deepEqual(ecdsa.tlsKeys, ['ecdsa', 'rsa']);

assert.deepEqual(full.edgeEnv, {});
assert.deepEqual(parseBenchArgs(['--edge-env', 'MALLOC_ARENA_MAX=2', '--edge-env', 'NODE_OPTIONS=--v8-pool-size=2 --x=a=b'], 2).edgeEnv, { MALLOC_ARENA_MAX: '2', NODE_OPTIONS: '--v8-pool-size=2 --x=a=b' });

assert.equal(full.baseline, undefined);
assert.equal(full.profile, false);
const compared = parseBenchArgs(['--baseline', '/tmp/base', '--profile-target', 'nginx'], 2);
assert.equal(compared.baseline, '/tmp/base');
assert.equal(compared.profile, true);
assert.equal(compared.profileTarget, 'nginx');

for (const bad of [['--peers', 'squid'], ['--sizes', '2k'], ['--threads', '0'], ['--rounds', '1.5'], ['--duration', 'x'], ['--load', 'ab'], ['--edge-set', 'novalue'], ['--edge-env', 'NOVALUE'], ['--edge-env', '=x'], ['--edge-upstream', 'curl'], ['--node-types', 'h2'], ['--access-log', 'xml'], ['--tls-key', 'dsa'], ['--what'], ['positional']]) {
  assert.throws(() => parseBenchArgs(bad, 2), BenchArgsError, `should refuse ${bad.join(' ')}`);
}
assert.equal(parseBenchArgs(['--warmup', '0'], 2).warmupSec, 0);
assert.equal(parseBenchArgs(['--micro-time', '0.1'], 2).microTimeSec, 0.1);

process.stdout.write('bench args: ok\n');
