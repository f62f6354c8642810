// httpd's ap_escape_logitem: what goes between the quotes of a combined line
// cannot break the line or the quoting. `"` and `\` get a backslash, the
// control characters with a name (\b \n \r \t \v) use it, every other byte
// outside printable ASCII becomes \xhh. uWS hands over targets and header
// values decoded as UTF-8, so a character above U+007F is written as the bytes
// of its UTF-8 form: the bytes the client sent, as httpd shows them.

/** Whether a UTF-16 code unit must be escaped. */
function needsEscape(c: number): boolean {
  return c < 0x20 || c >= 0x7f || c === 0x22 || c === 0x5c;
}

const NAMED: Readonly<Record<number, string>> = { 0x08: '\\b', 0x0a: '\\n', 0x0d: '\\r', 0x09: '\\t', 0x0b: '\\v', 0x22: '\\"', 0x5c: '\\\\' };

function hex(byte: number): string {
  return `\\x${byte < 0x10 ? '0' : ''}${byte.toString(16)}`;
}

/** `text` escaped as httpd escapes a log item; the same string when nothing needs it (no allocation). */
export function escapeLogItem(text: string): string {
  let i = 0;
  while (i < text.length && !needsEscape(text.charCodeAt(i))) i++;
  if (i === text.length) return text;
  let out = text.slice(0, i);
  for (; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (!needsEscape(c)) {
      out += text[i];
      continue;
    }
    const named = NAMED[c];
    if (named !== undefined) out += named;
    else if (c < 0x80) out += hex(c);
    else {
      // The bytes of its UTF-8 form (a surrogate pair is one code point).
      const cp = text.codePointAt(i) as number;
      if (cp > 0xffff) i++;
      for (const byte of Buffer.from(String.fromCodePoint(cp), 'utf8')) out += hex(byte);
    }
  }
  return out;
}
