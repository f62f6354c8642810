// Content-Length as bytes from a node (h1 header value, AJP SEND_HEADERS):
// read without making a string.

/** 1 to 15 ASCII digits as a number (exact below 2^53), -1 when it is anything else. */
export function decimalValue(value: Uint8Array): number {
  const n = value.length;
  if (n < 1 || n > 15) return -1;
  let v = 0;
  for (let i = 0; i < n; i++) {
    const d = (value[i] as number) - 48;
    if (d < 0 || d > 9) return -1;
    v = v * 10 + d;
  }
  return v;
}
