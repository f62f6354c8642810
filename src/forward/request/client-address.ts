// The client's address as text, from the binary address uWS gives
// (getRemoteAddress: 4 bytes for IPv4, 16 for IPv6), formatted exactly as
// uWS's own getRemoteAddressAsText would: dotted decimal for IPv4, eight
// zero-padded lower-case hex groups for IPv6, with no `::` compression and an
// IPv4 client of a dual-stack listener left in its mapped form
// (0000:0000:0000:0000:0000:ffff:7f00:0001). That text is what nodes have
// always been sent as X-Forwarded-For and what the access log shows.
//
// Why not getRemoteAddressAsText: it runs snprintf in C++ and hands over a new
// ArrayBuffer that then becomes a Buffer and a string, per request. The binary
// read still costs its ArrayBuffer (and the getpeername), but the text comes
// from a small cache: the clients of one thread are few and repeat.

/** Two hex digits per byte value. */
const HEX: readonly string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, '0'));

/** IPv4 texts by the address as a uint32; cleared when full so that a scan of many addresses cannot grow it. */
const v4Texts = new Map<number, string>();
const V4_TEXTS_MAX = 1024;

/** The last IPv6 address formatted, and its text. */
const lastV6 = new Uint8Array(16);
let lastV6Text = '';

function v4Text(b: Uint8Array): string {
  const key = (((b[0] as number) << 24) | ((b[1] as number) << 16) | ((b[2] as number) << 8) | (b[3] as number)) >>> 0;
  let text = v4Texts.get(key);
  if (text === undefined) {
    text = `${b[0] as number}.${b[1] as number}.${b[2] as number}.${b[3] as number}`;
    if (v4Texts.size >= V4_TEXTS_MAX) v4Texts.clear();
    v4Texts.set(key, text);
  }
  return text;
}

function v6Text(b: Uint8Array): string {
  let same = lastV6Text !== '';
  for (let i = 0; same && i < 16; i++) same = b[i] === lastV6[i];
  if (same) return lastV6Text;
  let text = (HEX[b[0] as number] as string) + (HEX[b[1] as number] as string);
  for (let i = 2; i < 16; i += 2) text += `:${HEX[b[i] as number] as string}${HEX[b[i + 1] as number] as string}`;
  lastV6.set(b);
  lastV6Text = text;
  return text;
}

/** The text of a binary address as uWS gives it; '' for any other length (uWS gives an empty one when it cannot say). */
export function addressText(binary: ArrayBuffer): string {
  const length = binary.byteLength;
  if (length === 4) return v4Text(new Uint8Array(binary));
  if (length === 16) return v6Text(new Uint8Array(binary));
  return '';
}
