// Starts bench/e2e/backend.ts as its own process and reads back its ports.
import path from 'node:path';
import type { BackendReady } from './backend';
import { ProcessStartError, spawnTracked, waitForLine, type Tracked } from './proc';

export interface BackendProcess {
  readonly ports: Record<string, number>;
  readonly pid: number;
  stop(): Promise<void>;
}

const BACKEND_JS = path.join(__dirname, 'backend.js');

/** Starts one backend process serving one App per id. */
export async function startBackend(ids: readonly string[]): Promise<BackendProcess> {
  const t: Tracked = spawnTracked(process.execPath, [BACKEND_JS, ids.join(',')]);
  const line = await waitForLine(t, (l) => l.startsWith('{"ports"'), 10_000, 'benchmark backend');
  const ready = JSON.parse(line) as BackendReady;
  for (const id of ids) {
    if (typeof ready.ports[id] !== 'number') {
      await t.stop();
      throw new ProcessStartError(`benchmark backend did not report a port for ${id}`);
    }
  }
  return { ports: ready.ports, pid: t.pid, stop: () => t.stop() };
}
