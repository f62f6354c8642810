// MCMP messages seen by the manager listener, by command and result, and the
// refusals by reason (the catalogue id of errors.ts: SMESPAR, MNODEUI, …).
// Counted in the primary, once per reply; nothing here is on the data path.
import { MCMP_ERRORS, type McmpErrorId } from '../mcmp/errors';

/** Mess text → catalogue id; `%s` parts match anything. */
const BY_MESS: ReadonlyArray<readonly [RegExp, McmpErrorId]> = (Object.keys(MCMP_ERRORS) as McmpErrorId[]).map((id) => {
  const pattern = MCMP_ERRORS[id].mess.split('%s').map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*');
  return [new RegExp(`^${pattern}`), id] as const;
});

export function mcmpErrorId(mess: string): string {
  for (const [re, id] of BY_MESS) if (re.test(mess)) return id;
  return 'other';
}

type Result = 'ok' | 'refused' | 'forbidden';
const RESULTS: readonly Result[] = ['ok', 'refused', 'forbidden'];

export class McmpMessageCounts {
  /** COMMAND → count per result (ok, refused, forbidden). A fixed key per command: a STATUS flood builds no string per message. */
  readonly #messages = new Map<string, Record<Result, number>>();
  /** "COMMAND\0reason" → count. */
  readonly #refusals = new Map<string, number>();

  /** One reply: its status and, for a refusal, the Mess header. */
  record(command: string, status: number, mess: string | undefined): void {
    const result: Result = status === 200 ? 'ok' : status === 403 ? 'forbidden' : 'refused';
    let counts = this.#messages.get(command);
    if (counts === undefined) {
      counts = { ok: 0, refused: 0, forbidden: 0 };
      this.#messages.set(command, counts);
    }
    counts[result]++;
    if (result === 'refused') bump(this.#refusals, `${command}\0${mess === undefined ? 'other' : mcmpErrorId(mess)}`);
  }

  *messages(): Iterable<{ command: string; result: string; count: number }> {
    for (const [command, counts] of this.#messages) {
      for (const result of RESULTS) if (counts[result] > 0) yield { command, result, count: counts[result] };
    }
  }

  *refusals(): Iterable<{ command: string; reason: string; count: number }> {
    for (const [key, count] of this.#refusals) {
      const [command = '', reason = ''] = key.split('\0');
      yield { command, reason, count };
    }
  }
}

function bump(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}
