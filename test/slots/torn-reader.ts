// Worker script for tables.test.ts: takes snapshots as fast as it can while the
// primary writes, and checks that every record and every snapshot is whole.
import { parentPort, workerData } from 'node:worker_threads';
import { SlotTables } from '../../src/slots/tables';
import { checkSnapshot } from './torn-check';

const { buffer, stopBuffer, index } = workerData as { buffer: SharedArrayBuffer; stopBuffer: SharedArrayBuffer; index: number };
const stop = new Int32Array(stopBuffer);
const tables = SlotTables.attach(buffer);
let snapshots = 0;
let problems: string[] = [];
let lastVersion = -1;
const versions = new Set<number>();
while (Atomics.load(stop, 0) === 0 && problems.length === 0) {
  const snap = tables.reader.snapshot();
  if (snap.version < lastVersion) problems.push(`version went back from ${lastVersion} to ${snap.version}`);
  lastVersion = snap.version;
  versions.add(snap.version);
  problems = problems.concat(checkSnapshot(snap));
  snapshots++;
  // The writer goes on until every reader has taken enough snapshots.
  Atomics.store(stop, 1 + index, snapshots);
}
parentPort?.postMessage({ snapshots, distinctVersions: versions.size, problems: problems.slice(0, 5) });
