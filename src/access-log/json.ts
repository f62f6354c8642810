// One JSON object per line: what the combined format says, plus what only the
// proxy knows (the normalised path, the node that answered, timings, tries,
// the sticky route). Field names are part of the contract (README "Access log").
import { epochMs, type IsoClock } from './clock';
import { CLIENT_CLOSED, requestHeader, type AccessRecord } from './record';

const str = (value: string): string => (value === '' ? 'null' : JSON.stringify(value));
const ms = (value: number): number => Math.round(value * 1000) / 1000;

export function jsonLine(record: AccessRecord, now: number, clock: IsoClock): string {
  const req = record.request;
  const node = record.nodeRoute;
  const sticky = record.stickyRoute;
  const upstream = record.ttfbUs >= 0 ? String(record.ttfbUs / 1000) : 'null';
  const failover = record.tries > 1 || (sticky !== '' && node !== '' && node !== sticky);
  return (
    `{"time":"${clock.format(epochMs(record.startedAt))}","client":${str(req.clientAddress)}` +
    `,"method":${JSON.stringify(req.method)},"target":${JSON.stringify(req.receivedTarget)},"path":${JSON.stringify(req.url)}` +
    `,"host":${str(req.host)},"status":${record.status === 0 ? CLIENT_CLOSED : record.status},"bytes":${record.bodyBytes}` +
    `,"node":${str(node)},"upstreamMs":${upstream},"totalMs":${ms(now - record.startedAt)}` +
    `,"tries":${record.tries},"sticky":${str(sticky)},"failover":${failover}` +
    `,"referer":${str(requestHeader(req, 'referer'))},"userAgent":${str(requestHeader(req, 'user-agent'))}}\n`
  );
}
