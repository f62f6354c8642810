// One measurement in its own process (so no variant inherits another's JIT
// state, heap or handles): `node client.js '<ClientJob JSON>'` prints one
// line of LoopResult JSON.
import process from 'node:process';
import { runLoop } from './loop';
import type { Transport } from './transport';
import { AddonTransport, type AddonMode } from './transports/addon';
import { HandleTransport } from './transports/handle';
import { StreamTransport } from './transports/stream';

export const VARIANTS = ['stream', 'handle', 'addon-call', 'addon-make', 'addon-batch'] as const;
export type Variant = (typeof VARIANTS)[number];

export interface ClientJob {
  readonly variant: Variant;
  readonly port: number;
  readonly connections: number;
  readonly responseBytes: number;
  readonly warmupMs: number;
  readonly durationMs: number;
  /** Built addon (addon-* variants). */
  readonly addonPath: string;
}

function transportFor(job: ClientJob): Transport {
  switch (job.variant) {
    case 'stream':
      return new StreamTransport();
    case 'handle':
      return new HandleTransport();
    default:
      return new AddonTransport(job.addonPath, job.variant.slice('addon-'.length) as AddonMode);
  }
}

async function main(): Promise<void> {
  const job = JSON.parse(process.argv[2] ?? '') as ClientJob;
  const result = await runLoop(transportFor(job), job.port, job.connections, job.responseBytes, job.warmupMs, job.durationMs);
  process.stdout.write(`${JSON.stringify(result)}\n`);
}

if (require.main === module) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? err.message : String(err)}\n`);
      process.exit(1);
    },
  );
}
