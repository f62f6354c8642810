// A fixed-capacity table with httpd slot-memory semantics (MCMP.md §3.1): a
// row's id is its index, new rows take the lowest free index, freed indexes are
// reused, and iteration is in ascending index order.

export class SlotTable<R extends { readonly id: number }> {
  readonly capacity: number;
  readonly #rows: Array<R | undefined>;
  #used = 0;
  /** No slot below this index is free (keeps lowestFree from rescanning a full prefix). */
  #freeFrom = 0;
  /** Optional upsert key → slot id, so keyed look-ups do not scan the table. */
  readonly #keyOf: ((row: R) => string) | undefined;
  readonly #byKey = new Map<string, number>();

  constructor(capacity: number, keyOf?: (row: R) => string) {
    if (!Number.isInteger(capacity) || capacity < 0) throw new RangeError(`bad table capacity ${capacity}`);
    this.capacity = capacity;
    this.#rows = new Array<R | undefined>(capacity).fill(undefined);
    this.#keyOf = keyOf;
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
    const i = this.#rows.indexOf(undefined, this.#freeFrom);
    if (i < 0) return undefined;
    this.#freeFrom = i;
    return i;
  }

  /** The row stored under `key` (tables built with a key function only). */
  getByKey(key: string): R | undefined {
    const id = this.#byKey.get(key);
    return id === undefined ? undefined : this.#rows[id];
  }

  /** Stores `row` at `row.id`. */
  set(row: R): void {
    const id = row.id;
    if (!Number.isInteger(id) || id < 0 || id >= this.capacity) {
      throw new RangeError(`slot ${id} outside 0..${this.capacity - 1}`);
    }
    const old = this.#rows[id];
    if (old === undefined) this.#used++;
    else if (this.#keyOf !== undefined) this.#byKey.delete(this.#keyOf(old));
    this.#rows[id] = row;
    if (this.#keyOf !== undefined) this.#byKey.set(this.#keyOf(row), id);
  }

  /** Frees slot `id`; returns the row it held. */
  delete(id: number): R | undefined {
    const row = this.#rows[id];
    if (row !== undefined) {
      this.#rows[id] = undefined;
      this.#used--;
      if (id < this.#freeFrom) this.#freeFrom = id;
      if (this.#keyOf !== undefined && this.#byKey.get(this.#keyOf(row)) === id) this.#byKey.delete(this.#keyOf(row));
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
