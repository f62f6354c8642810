// Session ids seen by a forwarding thread, sent to the primary (which owns the
// session-id table, MCMP.md §3.7/§5.11) in msgpackr batches, so that a busy
// thread posts one message per batch rather than one per response.
import type { MessagePort } from 'node:worker_threads';
import type { SessionReport, ThreadEvent } from './messages';

type Msgpackr = typeof import('msgpackr');
let loaded: Msgpackr | undefined;
/** msgpackr (and its native extension) is loaded by the first batch: with Maxsessionid 0, the default, a thread never sends one. */
function msgpackr(): Msgpackr {
  loaded ??= require('msgpackr') as Msgpackr;
  return loaded;
}

/** A batch is posted when it holds this many reports... */
const BATCH_MAX = 256;
/** ...or this long after its first report. */
const BATCH_DELAY_MS = 50;

export class SessionBatcher {
  readonly #port: MessagePort;
  #batch: SessionReport[] = [];
  #timer: NodeJS.Timeout | null = null;

  constructor(port: MessagePort) {
    this.#port = port;
  }

  add(sessionId: string, route: string, oldSessionId?: string): void {
    this.#batch.push(oldSessionId === undefined ? { sessionId, route } : { sessionId, route, oldSessionId });
    if (this.#batch.length >= BATCH_MAX) this.flush();
    else if (this.#timer === null) this.#timer = setTimeout(() => this.flush(), BATCH_DELAY_MS);
  }

  flush(): void {
    if (this.#timer !== null) {
      clearTimeout(this.#timer);
      this.#timer = null;
    }
    if (this.#batch.length === 0) return;
    const batch = this.#batch;
    this.#batch = [];
    // msgpackr packs into a shared scratch buffer: copy the bytes out so that
    // exactly they (and nothing else) are transferred.
    const bytes = new Uint8Array(msgpackr().pack(batch));
    const event: ThreadEvent = { type: 'sessions', batch: bytes };
    this.#port.postMessage(event, [bytes.buffer]);
  }
}

export function decodeSessionBatch(batch: Uint8Array): SessionReport[] {
  const value: unknown = msgpackr().unpack(batch);
  return Array.isArray(value) ? (value as SessionReport[]) : [];
}

/**
 * The value of cookie `name` if this Set-Cookie header sets it (`name=value;
 * attributes`), '' otherwise. Quotes around the value are removed, as for the
 * request cookie (MCMP.md §5.3).
 */
export function sessionIdFromSetCookie(setCookie: string, name: string): string {
  let start = 0;
  while (start < setCookie.length && (setCookie.charCodeAt(start) === 32 || setCookie.charCodeAt(start) === 9)) start++;
  if (!setCookie.startsWith(name, start)) return '';
  let i = start + name.length;
  while (i < setCookie.length && (setCookie.charCodeAt(i) === 32 || setCookie.charCodeAt(i) === 9)) i++;
  if (setCookie.charCodeAt(i) !== 61 /* = */) return '';
  const end = setCookie.indexOf(';', i + 1);
  let value = (end < 0 ? setCookie.slice(i + 1) : setCookie.slice(i + 1, end)).trim();
  if (value.length >= 2 && value.startsWith('"') && value.endsWith('"')) value = value.slice(1, -1);
  return value;
}
