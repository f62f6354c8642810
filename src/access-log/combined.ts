// The combined log format exactly as httpd and nginx write it:
//   %h %l %u %t "%r" %>s %b "%{Referer}i" "%{User-Agent}i"
// `-` for what is missing (identd and user are never known here; %b is `-`
// for an empty body), the request line as the client sent its target. uWS
// does not say which HTTP version a request used: %r ends in HTTP/1.1.
import { epochMs, type HttpdClock } from './clock';
import { escapeLogItem } from './escape';
import { CLIENT_CLOSED, requestHeader, type AccessRecord } from './record';

const quotedOrDash = (value: string): string => (value === '' ? '"-"' : `"${escapeLogItem(value)}"`);

export function combinedLine(record: AccessRecord, clock: HttpdClock): string {
  const req = record.request;
  const client = req.clientAddress === '' ? '-' : escapeLogItem(req.clientAddress);
  const status = record.status === 0 ? CLIENT_CLOSED : record.status;
  const bytes = record.bodyBytes > 0 ? String(record.bodyBytes) : '-';
  const line = `${escapeLogItem(req.method)} ${escapeLogItem(req.receivedTarget)} HTTP/1.1`;
  return `${client} - - ${clock.format(epochMs(record.startedAt))} "${line}" ${status} ${bytes} ${quotedOrDash(requestHeader(req, 'referer'))} ${quotedOrDash(requestHeader(req, 'user-agent'))}\n`;
}
