// The default JVMRoute. Java derives a name-based UUID (UUID.nameUUIDFromBytes,
// MD5, version 3) from the connector address, port and engine name; the agent
// does the same from `host:port`, so a restarted worker keeps its route.
import { createHash } from 'node:crypto';

export function defaultRoute(host: string, port: number): string {
  const b = createHash('md5').update(`${host}:${port}`).digest();
  b[6] = ((b[6] as number) & 0x0f) | 0x30;
  b[8] = ((b[8] as number) & 0x3f) | 0x80;
  const hex = b.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
