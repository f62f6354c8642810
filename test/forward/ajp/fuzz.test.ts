// A hostile AJP container, seeded and bounded: a valid response (SEND_HEADERS
// with Content-Length, body chunks, END_RESPONSE) with bytes flipped, cut,
// repeated or spliced, sent in pieces of random size so that packets split
// across reads. Whatever comes, the client gets an answer or a closed
// connection within the bound, and the forwarding thread keeps serving.
import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { Agent, request } from 'undici';
import { prng } from '../../helpers/prng';
import { startHarness, type Harness } from '../fixtures';
import { CPONG, END_KEEP, isCping, sendBodyChunk, sendHeaders, startFakeContainer, type FakeContainer } from './fake-container';

const SEED = Number(process.env.MCMP_EDGE_FUZZ_SEED ?? 0x41a9);
const ITERATIONS = process.env.MCMP_EDGE_SOAK === '1' ? 2000 : 150;
/** The whole loop stops after this even when iterations remain (a loaded machine). */
const LOOP_BOUND_MS = 60_000;
/** One request's bound: far above the node Timeout (1 s) the proxy enforces. */
const REQUEST_BOUND_MS = 15_000;

let h: Harness;
let fake: FakeContainer;

const BODY = Buffer.from('0123456789abcdef'.repeat(40));

function validResponse(): Buffer {
  return Buffer.concat([
    sendHeaders(200, [['Content-Type', 'text/plain'], ['Content-Length', String(BODY.length)], ['X-Note', 'fuzz']], 'OK'),
    sendBodyChunk(BODY.subarray(0, 300)),
    sendBodyChunk(BODY.subarray(300)),
    END_KEEP,
  ]);
}

function mutate(bytes: Buffer, rnd: () => number): Buffer {
  const out = Buffer.from(bytes);
  const kind = Math.floor(rnd() * 5);
  const at = Math.floor(rnd() * out.length);
  switch (kind) {
    case 0: {
      // Flip up to 4 bytes (lengths, codes, signatures included).
      const n = 1 + Math.floor(rnd() * 4);
      for (let i = 0; i < n; i++) out[Math.floor(rnd() * out.length)] = Math.floor(rnd() * 256);
      return out;
    }
    case 1:
      return out.subarray(0, at);
    case 2:
      return Buffer.concat([out.subarray(0, at), out.subarray(Math.floor(rnd() * out.length))]);
    case 3:
      // A 16-bit field set to an extreme (0, 0xFFFF, around the packet size).
      out.writeUInt16BE([0, 0xffff, 0x1ffc, 0x1ffd, 1][Math.floor(rnd() * 5)] as number, Math.min(at, out.length - 2));
      return out;
    default:
      return Buffer.concat([out.subarray(0, at), Buffer.from(Array.from({ length: 1 + Math.floor(rnd() * 40) }, () => Math.floor(rnd() * 256))), out.subarray(at)]);
  }
}

before(async () => {
  fake = await startFakeContainer(() => undefined);
  h = await startHarness({ threads: 1 });
  h.addNode(0, { port: fake.port }, [[0, '/app']], { type: 'ajp', route: 'fuzz', timeoutUs: 1_000_000, pingUs: 1_000_000 });
});

after(async () => {
  await h?.close();
  await fake?.close();
});

test(`${ITERATIONS} mutated responses (seed ${SEED}): every request ends within its bound, the thread keeps serving`, { timeout: LOOP_BOUND_MS + 4 * REQUEST_BOUND_MS }, async (t) => {
  const rnd = prng(SEED);
  const outcomes = new Map<string, number>();
  const started = Date.now();
  let done = 0;
  for (; done < ITERATIONS && Date.now() - started < LOOP_BOUND_MS; done++) {
    const response = mutate(validResponse(), rnd);
    const cuts: number[] = [];
    for (let at = 0; at < response.length; ) {
      at += 1 + Math.floor(rnd() * 200);
      cuts.push(Math.min(at, response.length));
    }
    fake.setScript(async (conn) => {
      let p = await conn.next(REQUEST_BOUND_MS);
      if (isCping(p)) {
        conn.send(CPONG);
        p = await conn.next(REQUEST_BOUND_MS);
      }
      let from = 0;
      for (const to of cuts) {
        if (conn.isClosed) return;
        conn.send(response.subarray(from, to));
        from = to;
        await new Promise((r) => setImmediate(r));
      }
      // Whatever the proxy made of it, the container hangs up (a half-answered request must not wait for the Timeout).
      await new Promise((r) => setTimeout(r, 20));
      conn.destroy();
    });
    h.counters.clearError(0);
    // A fresh client connection each time: a client connection the proxy had to close does not leak into the next.
    const agent = new Agent({ connections: 1, bodyTimeout: REQUEST_BOUND_MS, headersTimeout: REQUEST_BOUND_MS });
    const t0 = Date.now();
    let outcome: string;
    let length200 = BODY.length;
    try {
      const res = await request(`${h.origin}/app/f${done}`, { dispatcher: agent });
      const body = await res.body.arrayBuffer();
      outcome = res.statusCode === 200 && Buffer.from(body).equals(BODY) ? '200 intact' : `${res.statusCode}`;
      // Framing is never reinterpreted: a 200 the client saw end is as long as the container said (only flipped body bytes differ).
      if (res.statusCode === 200) length200 = body.byteLength;
    } catch (err) {
      outcome = `client error ${(err as { code?: string }).code ?? (err as Error).name}`;
    } finally {
      await agent.close();
    }
    assert.equal(length200, BODY.length, `iteration ${done}: a 200 of ${length200} bytes`);
    assert.ok(Date.now() - t0 < REQUEST_BOUND_MS, `iteration ${done} took ${Date.now() - t0} ms (outcome ${outcome})`);
    assert.ok(!outcome.includes('HeadersTimeout') && !outcome.includes('BodyTimeout'), `iteration ${done}: ${outcome}`);
    outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
  }
  t.diagnostic(`${done} iterations: ${JSON.stringify(Object.fromEntries(outcomes))}`);
  assert.ok(done >= 20, `only ${done} iterations within ${LOOP_BOUND_MS} ms`);
  // Some mutations are harmless (a flipped byte in a header value) and some are not: both kinds happened.
  assert.ok((outcomes.get('200 intact') ?? 0) > 0, JSON.stringify([...outcomes]));
  assert.ok([...outcomes.keys()].some((k) => k !== '200 intact'), JSON.stringify([...outcomes]));

  // The thread survived all of it.
  fake.setScript(async (conn) => {
    for (;;) {
      const p = await conn.next(REQUEST_BOUND_MS);
      conn.send(...(isCping(p) ? [CPONG] : [validResponse()]));
    }
  });
  h.counters.clearError(0);
  const agent = new Agent({ connections: 1 });
  try {
    const res = await request(`${h.origin}/app/after`, { dispatcher: agent });
    assert.equal(res.statusCode, 200);
    assert.ok(Buffer.from(await res.body.arrayBuffer()).equals(BODY));
  } finally {
    await agent.close();
  }
  assert.deepEqual(fake.errors.filter((e) => !/closed|timed out|timeout/i.test(e.message)), []);
});
