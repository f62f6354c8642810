// Node and context states by name, as /metrics and the JSON status view show them.
import { NodeFlag, type ClusterCounters } from '../slots/counters';
import { ContextStatus, type NodeRow } from '../slots/rows';

export type NodeStateName = 'ok' | 'error' | 'standby' | 'removed';

export function nodeState(counters: ClusterCounters, n: NodeRow): NodeStateName {
  if (n.removed) return 'removed';
  const flags = counters.flags(n.id);
  if ((flags & NodeFlag.InError) !== 0) return 'error';
  if ((flags & NodeFlag.HotStandby) !== 0) return 'standby';
  return 'ok';
}

export const CONTEXT_STATE: Readonly<Record<ContextStatus, 'enabled' | 'disabled' | 'stopped'>> = {
  [ContextStatus.Enabled]: 'enabled',
  [ContextStatus.Disabled]: 'disabled',
  [ContextStatus.Stopped]: 'stopped',
};
