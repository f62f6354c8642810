// What every MCMP command gets and gives back. Commands throw McmpError for
// the error replies; the handler turns both into HTTP.
import type { ClusterState } from '../../cluster/state';
import type { NodeProber } from '../../cluster/probe';
import type { StatusProbes } from '../../cluster/status-probes';
import type { Logger } from '../../log';

export interface CommandContext {
  readonly state: ClusterState;
  readonly prober: NodeProber;
  /** STATUS's node check: the prober, with one probe in flight per node and recent successes reused. */
  readonly statusProbes: StatusProbes;
  /** The `id=` of STATUS/PING replies: the proxy start time in µs (MCMP.md §2.4). */
  readonly startId: string;
  readonly logger: Logger;
  /** The request's Accept header contains text/xml (INFO/DUMP/VERSION). */
  readonly wantsXml: boolean;
}

export interface CommandResult {
  /** '' for commands that have nothing to say (CONFIG, wildcard *-APP). */
  readonly body: string;
  /** Defaults to text/plain when there is a body. */
  readonly contentType?: string;
  /** JVMRoute the command acted on, for the log line. */
  readonly route?: string;
  /** A short outcome for the log line (e.g. State=NOTOK). */
  readonly result?: string;
}
