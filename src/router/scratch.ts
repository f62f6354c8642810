// Per-request working memory of routeRequest, allocated once per routing
// index. Routing is synchronous and each thread has its own index, so one set
// of arrays serves every request; an epoch number invalidates the previous
// request's entries without clearing anything.
import type { NodeRow } from '../slots/rows';

export class RouteScratch {
  #epoch = 0;
  /** candidateEpoch[node] === epoch: the node is in this request's candidate list. */
  readonly candidateEpoch: Int32Array;
  /** The first candidate context row of that node. */
  readonly candidateContext: Int32Array;
  /** sessionEpoch[pair] === epoch: the session of that name pair was looked up. */
  readonly sessionEpoch: Int32Array;
  readonly sessionId: Array<string | undefined>;
  readonly sessionName: string[];
  /** Eligible workers of one pass, for DeterministicFailover. */
  readonly eligible: NodeRow[] = [];

  constructor(nodeSlots: number, namePairs: number) {
    this.candidateEpoch = new Int32Array(nodeSlots);
    this.candidateContext = new Int32Array(nodeSlots);
    this.sessionEpoch = new Int32Array(namePairs);
    this.sessionId = new Array<string | undefined>(namePairs).fill(undefined);
    this.sessionName = new Array<string>(namePairs).fill('');
  }

  /** Starts a request; returns its epoch (never 0, the arrays' initial value). */
  begin(): number {
    this.#epoch = (this.#epoch + 1) | 0;
    if (this.#epoch <= 0) {
      this.candidateEpoch.fill(0);
      this.sessionEpoch.fill(0);
      this.#epoch = 1;
    }
    return this.#epoch;
  }

  get epoch(): number {
    return this.#epoch;
  }
}
