// Descriptors held back for the connections to nodes (issue 13). uWS accepts
// every pending client connection in one go, until accept() fails with
// EMFILE, long before any look from outside can stop it; after such a burst
// the process has no descriptor left to reach a node for the clients it
// already had. So the primary holds a few descriptors (/dev/null) from the
// start and gives them back once every thread has stopped accepting: from
// then on only connections to nodes, probes and files can take them. They are
// taken again before accepting resumes.
import fs from 'node:fs';

export class FdReserve {
  readonly #size: number;
  readonly #held: number[] = [];

  constructor(size: number) {
    this.#size = size;
  }

  /** Descriptors held now. */
  get held(): number {
    return this.#held.length;
  }

  /** Takes descriptors until `size` are held or none is left; returns how many are held. */
  hold(): number {
    while (this.#held.length < this.#size) {
      try {
        this.#held.push(fs.openSync('/dev/null', 'r'));
      } catch {
        break;
      }
    }
    return this.#held.length;
  }

  /** Gives every held descriptor back. */
  release(): void {
    for (const fd of this.#held.splice(0)) {
      try {
        fs.closeSync(fd);
      } catch {
        // already closed: nothing to give back
      }
    }
  }
}
