// One pino logger per thread. Asynchronous destination so that logging never
// blocks the event loop of the primary or a forwarding thread.
import pino, { type Logger, type LevelWithSilent } from 'pino';

export type { Logger };

export const LOG_LEVELS: readonly LevelWithSilent[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'];

export function createLogger(level: LevelWithSilent, bindings: Record<string, unknown> = {}): Logger {
  const destination = pino.destination({ fd: 2, sync: false, minLength: 0 });
  return pino({ level, base: { pid: process.pid, ...bindings } }, destination);
}
