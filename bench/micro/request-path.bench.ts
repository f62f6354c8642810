// The request-target normaliser (src/forward/request/path.ts), run once per
// request: the plain path (one regex test, no copy) against the slow path a
// dot-segment or an escape takes.
import { DEFAULT_PATH_RULES, normaliseRequestTarget } from '../../src/forward/request/path';
import type { MicroSuite } from './harness';

const PLAIN = '/shop/cart/items;jsessionid=7F3A9C2E51B04D8A1C2B.node7';
const PLAIN_QUERY = '/shop/cart/items?item=42&sort=price';
const ESCAPED = '/shop/caf%C3%A9/jsr%3aroot/items?item=42';
const DOTS = '/shop/./cart/../items/%2e%2e/x';

export const requestPathSuite: MicroSuite = {
  name: 'normaliseRequestTarget',
  build: () => {
    if (normaliseRequestTarget(PLAIN, DEFAULT_PATH_RULES) !== PLAIN) throw new Error('plain path changed');
    if (normaliseRequestTarget(DOTS, DEFAULT_PATH_RULES) !== '/shop/x') throw new Error('dot-segments not removed');
    return [
      { name: 'plain path with ;jsessionid=', fn: () => normaliseRequestTarget(PLAIN, DEFAULT_PATH_RULES) },
      { name: 'plain path and query', fn: () => normaliseRequestTarget(PLAIN_QUERY, DEFAULT_PATH_RULES) },
      { name: 'escapes (slow path)', fn: () => normaliseRequestTarget(ESCAPED, DEFAULT_PATH_RULES) },
      { name: 'dot-segments (slow path)', fn: () => normaliseRequestTarget(DOTS, DEFAULT_PATH_RULES) },
    ];
  },
};
