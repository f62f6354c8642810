// Reads ../shared/reference/httpd-mcmp-responses.txt: the raw exchanges captured
// from httpd 2.4.71 + mod_proxy_cluster (CRLF shown as a literal "\r\n").
import fs from 'node:fs';
import path from 'node:path';

export interface CapturedResponse {
  status: number;
  /** Lower-cased header names. */
  headers: Record<string, string>;
  /** De-chunked body. */
  body: string;
}

export interface Exchange {
  n: number;
  title: string;
  /** The request bytes exactly as sent (latin1). */
  request: string;
  response: CapturedResponse;
}

const CRLF_MARK = '\\r\\n';

export function captureFile(): string {
  // dist/test/reference → repository root → ../shared
  const candidates = [
    path.resolve(__dirname, '../../../../shared/reference/httpd-mcmp-responses.txt'),
    path.resolve(process.cwd(), '../shared/reference/httpd-mcmp-responses.txt'),
  ];
  const found = candidates.find((p) => fs.existsSync(p));
  if (found === undefined) throw new Error(`reference capture not found in ${candidates.join(' or ')}`);
  return found;
}

/** Turns the displayed lines of one side back into bytes. */
function rebuild(lines: string[]): { head: string; bodyLines: string[] } {
  let head = '';
  let i = 0;
  for (; i < lines.length; i++) {
    const line = lines[i] ?? '';
    if (!line.endsWith(CRLF_MARK)) break;
    head += `${line.slice(0, -CRLF_MARK.length)}\r\n`;
    if (line === CRLF_MARK) {
      i++;
      break;
    }
  }
  return { head, bodyLines: lines.slice(i) };
}

function parseHeaders(head: string): { status: number; headers: Record<string, string> } {
  const lines = head.split('\r\n').filter((l) => l !== '');
  const status = Number((lines[0] ?? '').split(' ')[1]);
  const headers: Record<string, string> = {};
  for (const l of lines.slice(1)) {
    const c = l.indexOf(':');
    headers[l.slice(0, c).toLowerCase()] = l.slice(c + 1).trim();
  }
  return { status, headers };
}

function dechunk(bodyText: string): string {
  let rest = bodyText;
  let out = '';
  for (;;) {
    const end = rest.indexOf(`${CRLF_MARK}\n`);
    if (end < 0) throw new Error(`bad chunked body in capture: ${JSON.stringify(rest.slice(0, 40))}`);
    const size = parseInt(rest.slice(0, end), 16);
    rest = rest.slice(end + CRLF_MARK.length + 1);
    if (size === 0) return out;
    out += rest.slice(0, size);
    rest = rest.slice(size);
    // The chunk's closing CRLF is shown as "\r\n" on its own line.
    if (!rest.startsWith(`${CRLF_MARK}\n`)) throw new Error('chunk without its CRLF in capture');
    rest = rest.slice(CRLF_MARK.length + 1);
  }
}

export function loadCapture(file = captureFile()): Exchange[] {
  const text = fs.readFileSync(file, 'latin1');
  const main = text.split('\n######################################################################\n')[0] ?? '';
  const sections = main.split(/\n=+\n### /).slice(1);
  const out: Exchange[] = [];
  for (const section of sections) {
    const titleEnd = section.indexOf('\n');
    const titleLine = section.slice(0, titleEnd);
    const m = /^(\d+)\. (.*)$/.exec(titleLine);
    if (m === null) continue;
    const reqStart = section.indexOf('>>> REQUEST');
    const resStart = section.indexOf('<<< RESPONSE (raw)\n');
    const reqLines = section.slice(section.indexOf('\n', reqStart) + 1, resStart).split('\n');
    const req = rebuild(reqLines);
    // The request body is what follows the blank line, up to the response marker.
    const { headers: reqHeaders } = parseHeaders(`X 0 X\r\n${req.head.split('\r\n').slice(1).join('\r\n')}`);
    const length = Number(reqHeaders['content-length'] ?? '0');
    const reqBody = req.bodyLines.join('\n').slice(0, length);
    let resText = section.slice(resStart + '<<< RESPONSE (raw)\n'.length);
    resText = resText.replace(/\n+=+\s*$/, '\n');
    const res = rebuild(resText.split('\n'));
    const { status, headers } = parseHeaders(res.head);
    const rawBody = res.bodyLines.join('\n');
    let body: string;
    if ((headers['transfer-encoding'] ?? '') === 'chunked') body = dechunk(rawBody);
    else if (headers['content-length'] !== undefined) body = rawBody.slice(0, Number(headers['content-length']));
    else body = rawBody.replace(/\n+$/, '\n');
    out.push({ n: Number(m[1]), title: m[2] ?? '', request: req.head + reqBody, response: { status, headers, body } });
  }
  return out;
}
