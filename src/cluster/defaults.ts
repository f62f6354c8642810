// What a CONFIG leaves unsaid (MCMP.md §2.1 parameter table): the one place
// the defaults of a node's and a balancer's settings are written down.
import { FlushPackets, type BalancerRow, type NodeRow, type NodeType } from '../slots/rows';

/** A node's configuration before CONFIG parameters are applied (route and balancer come from elsewhere). */
export const NODE_CONFIG_DEFAULTS: Readonly<Omit<NodeRow, 'id' | 'route' | 'balancer' | 'removed'>> = Object.freeze({
  domain: '',
  host: 'localhost',
  port: 8009,
  type: 'ajp' as NodeType,
  upgrade: '',
  ajpSecret: '',
  reversed: false,
  flushPackets: FlushPackets.Off,
  flushWaitUs: 10_000,
  pingUs: 10_000_000,
  ttlUs: 60_000_000,
  timeoutUs: 0,
  smax: -1,
  responseFieldSize: 0,
});

/** A balancer's sticky settings before CONFIG parameters are applied (the proxy's defaults, not Java's). */
export const BALANCER_DEFAULTS: Readonly<Omit<BalancerRow, 'id' | 'name'>> = Object.freeze({
  stickySession: true,
  stickySessionCookie: 'JSESSIONID',
  stickySessionPath: 'jsessionid',
  stickySessionRemove: false,
  stickySessionForce: true,
  waitWorkerUs: 0,
  maxAttempts: 1,
});
