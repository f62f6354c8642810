// Reads ../shared/reference/tomcat-mcmp-trace.txt: the MCMP requests a real
// Tomcat 10.1 + mod_cluster listener sent, phase by phase, so the agent's
// tests compare against the trace itself rather than a copy of it.
import fs from 'node:fs';
import path from 'node:path';

export interface TraceRequest {
  method: string;
  target: string;
  /** Decoded body as the trace prints it. */
  body: string;
  /** `200`, `500 MEM`, `404`, `close`… */
  answer: string;
}

export function traceText(): string {
  const candidates = [
    path.resolve(__dirname, '../../../../shared/reference/tomcat-mcmp-trace.txt'),
    path.resolve(process.cwd(), '../shared/reference/tomcat-mcmp-trace.txt'),
  ];
  const found = candidates.find((p) => fs.existsSync(p));
  if (found === undefined) throw new Error(`reference trace not found in ${candidates.join(' or ')}`);
  return fs.readFileSync(found, 'latin1');
}

const LINE = /^\S+ conn#\d+\s+([A-Z-]+)\s+(\/\*?)\s+(?:(\S+)\s+)?=> (.*)$/;

function answerClass(answer: string): string {
  if (answer.startsWith('200')) return '200';
  if (answer.includes('closing connection without reply')) return 'close';
  const typed = /^500 Type: (\w+)/.exec(answer);
  if (typed !== null) return `500 ${typed[1]}`;
  return answer.split(' ')[0] as string;
}

/** The requests between the line containing `from` and the next line containing `to`. */
export function traceRequests(from: string, to: string): TraceRequest[] {
  const lines = traceText().split('\n');
  const start = lines.findIndex((l) => l.includes(from));
  if (start < 0) throw new Error(`trace has no ${from}`);
  const end = lines.findIndex((l, i) => i > start && l.includes(to));
  const out: TraceRequest[] = [];
  for (const line of lines.slice(start + 1, end < 0 ? undefined : end)) {
    const m = LINE.exec(line);
    if (m === null) continue;
    out.push({ method: m[1] as string, target: m[2] as string, body: m[3] ?? '', answer: answerClass(m[4] as string) });
  }
  return out;
}

/** The exact CONFIG request of section 0, CRLF line ends. */
export function traceConfigBytes(): string {
  const text = traceText();
  const start = text.indexOf('CONFIG / HTTP/1.1');
  const end = text.indexOf('\n--', start);
  const lines = text.slice(start, end).split('\n');
  const blank = lines.indexOf('');
  return `${lines.slice(0, blank).join('\r\n')}\r\n\r\n${lines[blank + 1]}`;
}
