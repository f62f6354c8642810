// What the scenario runner needs from each thing it measures: the backend
// served directly, mcmp-edge, and the peer proxies.

export type TargetKind = 'direct' | 'mcmp-edge' | 'nginx' | 'haproxy' | 'httpd';

export interface TargetContext {
  /** Port of the backend app every proxy forwards to. */
  readonly backendPort: number;
  /** A private temporary directory for generated configuration files. */
  readonly tmpDir: string;
}

export interface RunningTarget {
  readonly label: string;
  readonly kind: TargetKind;
  /** Where the load generator sends client traffic. */
  readonly port: number;
  /** The proxy's root process, whose tree is measured; undefined when there is no proxy (direct). */
  readonly pid: number | undefined;
  /** mcmp-edge only: its MCMP listener. */
  readonly managerPort?: number;
  stop(): Promise<void>;
}

export interface TargetSpec {
  readonly kind: TargetKind;
  readonly label: string;
  /** Why it cannot run here (with the fix), or undefined when it can. */
  unavailable(): string | undefined;
  start(ctx: TargetContext): Promise<RunningTarget>;
}
