// mcmp-edge/agent: a Node.js server as a mod_cluster node.
export { ClusterAgent, type ClusterAgentOptions, type ClusterAgentEvents, type ProxyStatus } from './agent';
export { AgentConfigError, AgentStateError, McmpReplyError, McmpTransportError } from './errors';
export { DynamicLoadProvider, NodeUnavailableError, type DynamicLoadOptions, type LoadMetric, type LoadProvider } from './load/dynamic';
export { cpuMetric, defaultNodeMetrics, eventLoopMetric, heapMetric, requestsMetric } from './load/node-metrics';
export type { McmpTlsOptions } from './mcmp-client';
export type { ProxyAddressInput } from './proxy-address';
export type { ProxyState } from './proxy-link';
export { SessionCookies, withRoute, withoutRoute, type SessionCookieOptions } from './sessions';
export type { AdvertiseOptions } from './advertise-listener';
