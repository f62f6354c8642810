// Responses the proxy writes itself (router statuses, upstream failures, static
// errors): a status line and a short text body (decision D15).
import { STATUS_CODES } from 'node:http';
import type { HttpResponse } from 'uWebSockets.js';

const statusLines = new Map<number, string>();

/** "503 Service Unavailable", cached per code. */
export function statusLine(status: number, reason?: string): string {
  if (reason !== undefined && reason !== '' && reason !== STATUS_CODES[status]) return `${status} ${reason}`;
  let line = statusLines.get(status);
  if (line === undefined) {
    line = `${status} ${STATUS_CODES[status] ?? 'Unknown'}`;
    statusLines.set(status, line);
  }
  return line;
}

/**
 * Writes a complete text reply; call inside res.cork() or a uWS handler.
 * `clientAskedClose`: the request said Connection: close (uWS closes after the
 * response but writes no header for it). `forceClose`: the proxy closes the
 * connection itself (uWS then writes the header).
 */
export function writeTextReply(res: HttpResponse, status: number, clientAskedClose = false, forceClose = false): void {
  const line = statusLine(status);
  res.writeStatus(line);
  if (clientAskedClose) res.writeHeader('Connection', 'close');
  const close = forceClose && !clientAskedClose;
  if (status === 204 || status === 304) {
    res.endWithoutBody(undefined, close);
    return;
  }
  res.writeHeader('Content-Type', 'text/plain; charset=utf-8');
  res.end(`${line}\n`, close);
}

/** Body bytes of the reply writeTextReply sends for `status` (the access log's %b). */
export function textReplyBodyBytes(status: number): number {
  return status === 204 || status === 304 ? 0 : Buffer.byteLength(statusLine(status)) + 1;
}
