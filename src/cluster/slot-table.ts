// A fixed-capacity table with httpd slot-memory semantics (MCMP.md §3.1): a
// row's id is its index, new rows take the lowest free index, freed indexes are
// reused, and iteration is in ascending index order.

export class SlotTable<R extends { readonly id: number }> {
  readonly capacity: number;
  readonly #rows: Array<R | undefined>;
  #used = 0;

  constructor(capacity: number) {
    if (!Number.isInteger(capacity) || capacity < 0) throw new RangeError(`bad table capacity ${capacity}`);
    this.capacity = capacity;
    this.#rows = new Array<R | undefined>(capacity).fill(undefined);
  }

  get size(): number {
    return this.#used;
  }

  get(id: number): R | undefined {
    return this.#rows[id];
  }

  /** The lowest free index, or undefined when the table is full. */
  lowestFree(): number | undefined {
    if (this.#used >= this.capacity) return undefined;
    const i = this.#rows.indexOf(undefined);
    return i < 0 ? undefined : i;
  }

  /** Stores `row` at `row.id`. */
  set(row: R): void {
    const id = row.id;
    if (!Number.isInteger(id) || id < 0 || id >= this.capacity) {
      throw new RangeError(`slot ${id} outside 0..${this.capacity - 1}`);
    }
    if (this.#rows[id] === undefined) this.#used++;
    this.#rows[id] = row;
  }

  /** Frees slot `id`; returns the row it held. */
  delete(id: number): R | undefined {
    const row = this.#rows[id];
    if (row !== undefined) {
      this.#rows[id] = undefined;
      this.#used--;
    }
    return row;
  }

  /** Used rows in ascending slot order. */
  *[Symbol.iterator](): IterableIterator<R> {
    for (const row of this.#rows) if (row !== undefined) yield row;
  }

  rows(): R[] {
    return [...this];
  }

  find(predicate: (row: R) => boolean): R | undefined {
    for (const row of this.#rows) if (row !== undefined && predicate(row)) return row;
    return undefined;
  }

  filter(predicate: (row: R) => boolean): R[] {
    const out: R[] = [];
    for (const row of this.#rows) if (row !== undefined && predicate(row)) out.push(row);
    return out;
  }
}
