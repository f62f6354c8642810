// What a forwarding thread pays after every table change: a consistent read
// of the slot tables (seqlocks) and a rebuild of its routing index.
import { RoutingIndex } from '../../src/router/index';
import { SlotTables } from '../../src/slots/tables';
import { createAppCluster, nodesLabel } from './cluster-fixture';
import type { MicroCase, MicroSuite } from './harness';
import { NODE_COUNTS, routingOptions, TOTAL_CONTEXTS } from './route.bench';

export const snapshotSuite: MicroSuite = {
  name: `slot snapshot + RoutingIndex.build (${TOTAL_CONTEXTS} contexts)`,
  async build() {
    const cases: MicroCase[] = [];
    for (const n of NODE_COUNTS) {
      const f = await createAppCluster(n, TOTAL_CONTEXTS / n);
      const reader = SlotTables.attach(f.tables.buffer).reader;
      const options = routingOptions(f);
      const snap = reader.snapshot();
      cases.push(
        { name: `${nodesLabel(n)}: reader.snapshot()`, fn: () => reader.snapshot() },
        { name: `${nodesLabel(n)}: RoutingIndex.build(snapshot)`, fn: () => RoutingIndex.build(snap, options) },
        { name: `${nodesLabel(n)}: snapshot + build (one table change)`, fn: () => RoutingIndex.build(reader.snapshot(), options) },
      );
    }
    return cases;
  },
};
