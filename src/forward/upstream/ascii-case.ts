// Header names and tokens from a node compared as bytes, in any case, without
// making a string: this runs per header line (the h1 parser, the drop rules).

/**
 * buf[at, at + lower.length) is `lower` (lower-case ASCII) in any case. |0x20
 * folds A-Z to a-z; callers compare tchar names or tokens, where it folds
 * nothing else onto a letter or '-'.
 */
export function bytesAre(buf: Uint8Array, at: number, lower: string): boolean {
  for (let i = 0; i < lower.length; i++) {
    if (((buf[at + i] as number) | 0x20) !== lower.charCodeAt(i)) return false;
  }
  return true;
}
