// The backend without a proxy: the ceiling every proxy is compared with.
import type { RunningTarget, TargetContext, TargetSpec } from './types';

export function directTarget(): TargetSpec {
  return {
    kind: 'direct',
    label: 'direct',
    unavailable: () => undefined,
    start: (ctx: TargetContext): Promise<RunningTarget> =>
      Promise.resolve({ label: 'direct', kind: 'direct', port: ctx.backendPort, pid: undefined, stop: () => Promise.resolve() }),
  };
}
