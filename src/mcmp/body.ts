// The MCMP body grammar of MCMP.md §1.5. It is not a form decoder: `&` and `=`
// are both plain separators, tokens are percent-decoded after splitting (so
// `%26`/`%3D` are the only way to carry them), `+` stays `+`, and a decoded
// `<`, `>`, `"`, `'`, CR or LF anywhere rejects the whole message.
import { McmpError } from './errors';

/** One (name, value) pair; the value is undefined when the token count is odd. */
export type McmpPair = readonly [name: string, value: string | undefined];

const AMP = 0x26;
const EQ = 0x3d;
const PERCENT = 0x25;

function hexValue(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x41 + 10;
  if (c >= 0x61 && c <= 0x66) return c - 0x61 + 10;
  return -1;
}

function isIllegal(b: number): boolean {
  return b === 0x3c || b === 0x3e || b === 0x22 || b === 0x27 || b === 0x0d || b === 0x0a;
}

/** Percent-decodes bytes [start, end) of `raw`; throws SMESPAR on an illegal byte. */
function decodeToken(raw: Buffer, start: number, end: number): string {
  // Most tokens (every STATUS) are plain ASCII: no copy, the same text as the UTF-8 decoding below.
  let plain = true;
  for (let i = start; i < end; i++) {
    const b = raw[i] as number;
    if (b === PERCENT || b >= 0x80) {
      plain = false;
      break;
    }
    if (isIllegal(b)) throw new McmpError('SMESPAR');
  }
  if (plain) return raw.toString('latin1', start, end);
  const out = Buffer.allocUnsafe(end - start);
  let n = 0;
  for (let i = start; i < end; i++) {
    let b = raw[i] as number;
    if (b === PERCENT && i + 2 < end) {
      const hi = hexValue(raw[i + 1] as number);
      const lo = hexValue(raw[i + 2] as number);
      if (hi >= 0 && lo >= 0) {
        b = (hi << 4) | lo;
        i += 2;
      }
    }
    if (isIllegal(b)) throw new McmpError('SMESPAR');
    out[n++] = b;
  }
  // Java encodes with UTF-8; invalid sequences become U+FFFD rather than failing.
  return out.toString('utf8', 0, n);
}

/** Splits and decodes an MCMP body into ordered pairs (MCMP.md §1.5 steps 1–4). */
export function parseMcmpBody(body: Buffer | string): McmpPair[] {
  const raw = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const tokens: string[] = [];
  let start = 0;
  for (let i = 0; i <= raw.length; i++) {
    const b = i < raw.length ? raw[i] : AMP;
    if (b === AMP || b === EQ) {
      tokens.push(decodeToken(raw, start, i));
      start = i + 1;
    }
  }
  const pairs: McmpPair[] = [];
  for (let i = 0; i < tokens.length; i += 2) {
    pairs.push([tokens[i] as string, tokens[i + 1]]);
  }
  return pairs;
}

/** ASCII case-insensitive name comparison (parameter names, §1.5 step 5). */
export function sameName(a: string, b: string): boolean {
  return a.length === b.length && a.toLowerCase() === b.toLowerCase();
}

// The sending side of the same grammar, as the Java worker writes it
// (MCMP.md §1.5 last paragraph, §8.2): java.net.URLEncoder over UTF-8, which
// keeps only A–Z a–z 0–9 `.` `-` `*` `_`, turns a space into `+` and
// percent-encodes every other byte with upper-case hex.
const URLENCODER_KEEPS = /[^A-Za-z0-9.\-*_ ]/g;

/** `java.net.URLEncoder.encode(text, UTF-8)`. */
export function javaUrlEncode(text: string): string {
  return text
    .replace(URLENCODER_KEEPS, (c) => {
      let out = '';
      for (const b of Buffer.from(c, 'utf8')) out += `%${b.toString(16).toUpperCase().padStart(2, '0')}`;
      return out;
    })
    .replace(/ /g, '+');
}

/** Joins (name, value) pairs into a body, in the order given. */
export function formatMcmpBody(pairs: ReadonlyArray<readonly [string, string]>): string {
  return pairs.map(([name, value]) => `${javaUrlEncode(name)}=${javaUrlEncode(value)}`).join('&');
}
