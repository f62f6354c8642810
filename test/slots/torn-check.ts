// Rows written by the torn-read test derive every field from one number k, so a
// record mixing two writes, or a snapshot mixing two batches, is detectable.
import { ContextStatus, type ContextRow, type NodeRow } from '../../src/slots/rows';
import type { TablesSnapshot } from '../../src/slots/types';
import { isDeepStrictEqual } from 'node:util';

export function nodeFor(id: number, k: number): NodeRow {
  const tag = `${k}-${id}`;
  return {
    id,
    route: `route-${tag}`.padEnd(20 + (k % 40), 'r'),
    balancer: `b${k % 7}`,
    domain: k % 3 === 0 ? '' : `d${k % 11}`,
    host: `host-${tag}.example`.padEnd(10 + (k % 50), 'h'),
    port: 1 + (k % 65535),
    type: k % 2 === 0 ? 'http' : 'ajp',
    upgrade: '',
    ajpSecret: `s${k}`,
    reversed: k % 2 === 1,
    flushPackets: 0,
    flushWaitUs: k * 10,
    pingUs: k * 1000,
    ttlUs: k * 2000,
    timeoutUs: k * 3,
    smax: k % 100,
    responseFieldSize: 0,
    removed: k % 5 === 0,
  };
}

export function contextFor(id: number, k: number): ContextRow {
  return { id, path: `/ctx-${k}`.padEnd(5 + (k % 70), 'p'), vhost: k % 9, node: k % 4, status: ContextStatus.Enabled };
}

/** The k a node row was made from, or undefined if its fields disagree. */
function kOfNode(row: NodeRow): number | undefined {
  const m = /^route-(\d+)-(\d+)/.exec(row.route);
  if (m === null) return undefined;
  const k = Number(m[1]);
  const expected = nodeFor(row.id, k);
  for (const key of Object.keys(expected) as Array<keyof NodeRow>) {
    if (expected[key] !== row[key]) return undefined;
  }
  return k;
}

export function checkSnapshot(snap: TablesSnapshot): string[] {
  const problems: string[] = [];
  const ks = new Set<number>();
  for (const row of snap.nodes) {
    if (row === undefined) continue;
    const k = kOfNode(row);
    if (k === undefined) problems.push(`torn node ${JSON.stringify(row)}`);
    else ks.add(k);
  }
  for (const row of snap.contexts) {
    if (row === undefined) continue;
    const m = /^\/ctx-(\d+)/.exec(row.path);
    const k = m === null ? NaN : Number(m[1]);
    const expected = contextFor(row.id, k);
    if (Number.isNaN(k) || !isDeepStrictEqual(expected, row)) problems.push(`torn context ${JSON.stringify(row)}`);
    else ks.add(k);
  }
  // Every batch rewrites every used slot with one k: a snapshot shows exactly one.
  if (ks.size > 1) problems.push(`snapshot mixes batches ${[...ks].join(',')}`);
  return problems;
}
