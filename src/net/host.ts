// Host names as MCMP carries them (IPv6 in brackets) and as sockets want them.

/** A host name without IPv6 brackets, for comparisons and for connecting. */
export function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}
