// The h1 client's tests once more through node:net streams: the path every
// upstream connection takes when this Node lacks what handle-io.ts needs
// (MCMP_EDGE_UPSTREAM_IO=stream forces it here). Set before the client loads.
import assert from 'node:assert/strict';
import { it } from 'node:test';

process.env.MCMP_EDGE_UPSTREAM_IO = 'stream';
// eslint-disable-next-line @typescript-eslint/no-require-imports
const { HANDLE_IO } = require('../../src/net/handle-io') as typeof import('../../src/net/handle-io');

it('the h1 client below runs on node:net streams', () => {
  assert.equal(HANDLE_IO.binding, null);
  assert.equal(HANDLE_IO.reason, 'MCMP_EDGE_UPSTREAM_IO=stream');
});

// eslint-disable-next-line @typescript-eslint/no-require-imports
require('./h1-client.test');
