// Reads ../shared/reference/ajp-exchanges.txt (real traffic between httpd's
// mod_proxy_ajp and Tomcat 10.1, and a synthetic container): the packets of an
// exchange, byte for byte, so that the fake container answers with the bytes
// a real one sent and the encoder is compared with what httpd wrote.
import fs from 'node:fs';
import path from 'node:path';

export interface CapturedPacket {
  /** [n] in the exchange. */
  readonly index: number;
  /** 'proxy': web server → container; 'container': the other way. */
  readonly from: 'proxy' | 'container';
  /** FORWARD_REQUEST, SEND_HEADERS, ... as the capture names it. */
  readonly type: string;
  /** The whole packet; null when the capture shows only part of it (long packets). */
  readonly bytes: Buffer | null;
}

let text: string | undefined;

export function captureFile(): string {
  const candidates = [
    // dist/test/forward/ajp → repository root → ../shared
    path.resolve(__dirname, '../../../../../shared/reference/ajp-exchanges.txt'),
    path.resolve(process.cwd(), '../shared/reference/ajp-exchanges.txt'),
  ];
  const found = candidates.find((p) => fs.existsSync(p));
  if (found === undefined) throw new Error(`ajp-exchanges.txt not found (looked in ${candidates.join(', ')})`);
  return found;
}

const PACKET_LINE = /^ {2}\[(\d+)\] \+ *[\d.]+s +conn#\d+ \[[^\]]*\] +(\S+) +-> +(\S+) +([A-Z_]+(?: \([^)]*\))?)(.*)$/;
const DUMP_LINE = /^ {6}([0-9a-f]{4}) {2}((?:[0-9a-f]{2} )+)/;

/** The packets of exchange `n` (1-based, the file's numbering). */
export function exchangePackets(n: number): CapturedPacket[] {
  text ??= fs.readFileSync(captureFile(), 'latin1');
  const start = text.indexOf(`\nEXCHANGE ${n}: `);
  if (start < 0) throw new Error(`exchange ${n} not in the capture`);
  const next = text.indexOf('\nEXCHANGE ', start + 1);
  const lines = text.slice(start, next < 0 ? undefined : next).split('\n');
  const packets: CapturedPacket[] = [];
  for (let i = 0; i < lines.length; i++) {
    const m = PACKET_LINE.exec(lines[i] as string);
    if (m === null) continue;
    const from = (m[2] as string).toLowerCase() === 'httpd' ? 'proxy' : 'container';
    const type = (m[4] as string).split(' ')[0] as string;
    const rest = m[5] as string;
    const inline = /^ +((?:[0-9a-f]{2} )+(?:\.\.\. (?:[0-9a-f]{2} )+)?) +\(/.exec(rest);
    if (inline !== null) {
      const hex = inline[1] as string;
      packets.push({ index: Number(m[1]), from, type, bytes: hex.includes('...') ? null : Buffer.from(hex.replace(/ /g, ''), 'hex') });
      continue;
    }
    // A dump (raw lines, or "decoded (these bytes are the whole packet)" field lines).
    const bytes: string[] = [];
    let truncated = false;
    let j = i + 1;
    if (/^ {4}decoded \(these bytes are the whole packet\)/.test(lines[j] ?? '')) {
      for (j++; j < lines.length && DUMP_LINE.test(lines[j] as string); j++) {
        const line = lines[j] as string;
        const d = DUMP_LINE.exec(line) as RegExpExecArray;
        bytes.push((d[2] as string).replace(/ /g, ''));
        if (line.slice(d[0].length).startsWith('..')) truncated = true;
      }
    } else {
      for (; j < lines.length; j++) {
        const line = lines[j] as string;
        if (/^ {6}\.\.\.\. /.test(line)) {
          truncated = true;
          continue;
        }
        const d = DUMP_LINE.exec(line);
        if (d === null) break;
        bytes.push((d[2] as string).replace(/ /g, ''));
      }
    }
    packets.push({ index: Number(m[1]), from, type, bytes: truncated ? null : Buffer.from(bytes.join(''), 'hex') });
  }
  return packets;
}

/** The one packet [index] of exchange n, which must be shown whole. */
export function capturedPacket(n: number, index: number): Buffer {
  const p = exchangePackets(n).find((x) => x.index === index);
  if (p === undefined || p.bytes === null) throw new Error(`packet [${index}] of exchange ${n} is not in the capture whole`);
  return p.bytes;
}
