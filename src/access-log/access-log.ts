// One forwarding thread's access log: formats a finished request into one
// line and hands it to the thread's own destination. Called once per request
// when it is over; the request path never waits for a disk.
import type { Logger } from '../log';
import { EpisodeLog } from '../log-throttle';
import { HttpdClock, IsoClock } from './clock';
import { combinedLine } from './combined';
import { AccessLogDestination } from './destination';
import { jsonLine } from './json';
import { RefusalRecord, type AccessRecord, type LoggedRequest } from './record';
import type { AccessLogSettings } from './settings';

export class AccessLog {
  readonly #destination: AccessLogDestination;
  readonly #json: boolean;
  readonly #httpdClock = new HttpdClock();
  readonly #isoClock = new IsoClock();
  readonly #logger: Logger;
  readonly #dropped: EpisodeLog;
  readonly #failing: EpisodeLog;

  constructor(settings: AccessLogSettings, logger: Logger) {
    this.#logger = logger;
    this.#json = settings.format === 'json';
    this.#dropped = new EpisodeLog(logger, 'access log: lines dropped, the destination does not keep up');
    this.#failing = new EpisodeLog(logger, 'access log: writing failed');
    this.#destination = new AccessLogDestination(settings.path, {
      error: (err) => this.#failing.hit({ err: err.message, path: settings.path }),
      dropped: () => this.#dropped.hit({ path: settings.path }),
    });
  }

  /** A request (or tunnel) is over. */
  write(record: AccessRecord): void {
    try {
      this.#destination.write(this.#json ? jsonLine(record, performance.now(), this.#isoClock) : combinedLine(record, this.#httpdClock));
    } catch (err) {
      // A line that cannot be made costs that line, never the request or the thread.
      this.#logger.error({ err }, 'access log: a line could not be written');
    }
  }

  /** A request the proxy refused before any routing (framing, Host, target, size). */
  refused(request: LoggedRequest, status: number, bodyBytes: number): void {
    this.write(new RefusalRecord(request, status, bodyBytes));
  }

  reopen(): void {
    this.#destination.reopen();
  }

  close(): Promise<void> {
    return this.#destination.close();
  }

  flushSync(): void {
    this.#destination.flushSync();
  }
}
