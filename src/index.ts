// The package's library entry. mcmp-edge is used as a command (bin); the one
// library API it offers today is the worker-side agent, also reachable as
// `mcmp-edge/agent`.
export * from './agent';
