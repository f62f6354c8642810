// Counter additions a forwarding thread keeps in its own memory and publishes
// to the shared buffer once per event-loop turn. For counters that are only
// read when someone looks (the metrics scrape, INFO/DUMP's Read/Transferred,
// the status page): a request adds to ~8 of them, and each Atomics.add on a
// cache line the other threads write too costs a line transfer; summed per
// turn, a busy turn's requests make one shared add per counter they touched.
// Live counters (busy, elected, a context's running requests) are read by the
// balancer and STOP-APP while requests run and never go through here.
//
// Published in the turn's check phase (setImmediate): after every callback of
// the poll phase that wrote the turn's responses, before the loop waits again.

/** Adds `x` (a whole number ≥ 0) to counter `index` of the shared buffer. */
export type Publish = (index: number, x: number) => void;

export class TurnBatch {
  readonly #publish: Publish;
  /** Sums not published yet, by counter index. */
  readonly #pending: Float64Array;
  /** Indexes with a pending sum, in the order first touched. */
  readonly #touched: Int32Array;
  #touchedCount = 0;
  #scheduled = false;

  /** `counters`: how many counter indexes there are. */
  constructor(counters: number, publish: Publish) {
    this.#publish = publish;
    this.#pending = new Float64Array(counters);
    this.#touched = new Int32Array(counters);
  }

  add(index: number, x: number): void {
    const pending = this.#pending;
    if (pending[index] === 0) {
      if (x === 0) return;
      this.#touched[this.#touchedCount++] = index;
    }
    pending[index] = (pending[index] as number) + x;
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#onTurnEnd);
    }
  }

  /** Publishes every pending sum now (the thread is ending; also what the turn's end does). */
  flush(): void {
    const pending = this.#pending;
    const touched = this.#touched;
    const count = this.#touchedCount;
    this.#touchedCount = 0;
    for (let i = 0; i < count; i++) {
      const index = touched[i] as number;
      const x = pending[index] as number;
      pending[index] = 0;
      this.#publish(index, x);
    }
  }

  readonly #onTurnEnd = (): void => {
    this.#scheduled = false;
    this.flush();
  };
}
