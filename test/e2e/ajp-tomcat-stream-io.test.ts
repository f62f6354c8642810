// The real-Tomcat AJP tests once more through node:net streams: the path every
// upstream connection takes when this Node lacks what handle-io.ts needs
// (MCMP_EDGE_UPSTREAM_IO=stream forces it here). Set before anything loads;
// the forwarding threads get a copy of this environment when they start.
import assert from 'node:assert/strict';
import { test } from 'node:test';

process.env.MCMP_EDGE_UPSTREAM_IO = 'stream';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { HANDLE_IO } = require('../../src/net/handle-io') as typeof import('../../src/net/handle-io');

test('the Tomcat AJP tests below run on node:net streams', () => {
  assert.equal(HANDLE_IO.binding, null);
  assert.equal(HANDLE_IO.reason, 'MCMP_EDGE_UPSTREAM_IO=stream');
});

// eslint-disable-next-line @typescript-eslint/no-require-imports
require('./ajp-tomcat.test');
