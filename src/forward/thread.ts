// The long-lived piscina task of one forwarding thread: attach to the shared
// tables and counters, listen, serve until the pool says stop, drain, return.
import { HANDLE_IO } from '../net/handle-io';
import type { LevelWithSilent } from 'pino';
import { createLogger } from '../log';
import { AccessLog } from '../access-log/index';
import { ClusterCounters } from '../slots/counters';
import { SlotTables } from '../slots/tables';
import { InjectedCrashError } from './errors';
import { heapLimitMiB } from './heap-limits';
import { publishLoopUtilisation } from './loop-utilisation';
import type { ThreadCommand, ThreadEvent, ThreadResult, ThreadTask } from './messages';
import { ForwardingServer } from './server';
import { SessionBatcher } from './sessions';
import { tuneV8ForForwarding } from './v8-tuning';

export default async function forwardingThread(task: ThreadTask): Promise<ThreadResult> {
  tuneV8ForForwarding();
  const logger = createLogger(task.logLevel as LevelWithSilent, { thread: task.index });
  const control = task.control;
  const tables = SlotTables.attach(task.tablesBuffer);
  const counters = new ClusterCounters(task.sizes.maxNode, task.sizes.maxContext, task.countersBuffer);
  counters.publishPerTurn();
  const sessions = task.maxSessionId > 0 ? new SessionBatcher(control) : null;
  const accessLog = task.accessLog === null ? null : new AccessLog(task.accessLog, logger);
  const server = new ForwardingServer(
    { reader: tables.reader, counters, sessions, logger, accessLog },
    {
      host: task.listenHost,
      port: task.listenPort,
      routing: task.routing,
      docroot: task.docroot,
      useNocanon: task.useNocanon,
      ajpPacketSize: task.ajpPacketSize,
      encodedSlashes: task.encodedSlashes,
      addHeaders: task.addHeaders,
      drainTimeoutMs: task.drainTimeoutMs,
      limits: task.limits,
      tls: task.tls,
      tlsPassphrase: task.tlsPassphrase,
      upstreamTls: task.upstreamTls,
    },
  );
  // However the thread ends (uncaught error, process.exit), its uWS sockets
  // must be closed first: a worker that exits holding them aborts the process.
  const closeOnExit = (): void => {
    server.closeNow();
    counters.flushPending();
    accessLog?.flushSync();
  };
  process.on('exit', closeOnExit);
  const stopPublishing = publishLoopUtilisation(counters.traffic, task.index);
  try {
    const port = await server.listen();
    const stopRequested = new Promise<void>((resolve) => {
      control.on('message', (command: ThreadCommand) => {
        if (command.type === 'stop') resolve();
        else if (command.type === 'close-now') {
          server.closeNow();
          Atomics.add(task.closedAck, 0, 1);
          Atomics.notify(task.closedAck, 0);
        } else if (command.type === 'accept') {
          server.setAccepting(command.on);
          const event: ThreadEvent = { type: 'accepting', index: task.index, on: command.on };
          control.postMessage(event);
        } else if (command.type === 'crash') crash(command.how);
        else if (command.type === 'reconfigure') {
          if (command.routing !== undefined) server.setRouting(command.routing);
          if (command.logLevel !== undefined) logger.level = command.logLevel;
        } else if (command.type === 'access-log-reopen') {
          accessLog?.reopen();
        } else if (command.type === 'tls-reload') {
          void server.reloadTls(command.passphrase).then((ok) => {
            const event: ThreadEvent = { type: 'tls-reloaded', index: task.index, ok };
            control.postMessage(event);
          });
        }
      });
    });
    const listening: ThreadEvent = { type: 'listening', index: task.index, port };
    control.postMessage(listening);
    logger.debug({ port, heapLimitMiB: heapLimitMiB() }, 'forwarding thread listening');
    if (HANDLE_IO.reason !== '') logger.info({ reason: HANDLE_IO.reason }, 'upstream I/O through node:net streams');
    await stopRequested;
    const cut = await server.stop();
    if (cut > 0) logger.warn({ cut }, 'requests cut at the end of the drain timeout');
    sessions?.flush();
    return { index: task.index, cut };
  } finally {
    stopPublishing();
    server.closeNow();
    counters.flushPending();
    process.off('exit', closeOnExit);
    control.close();
    // Whatever is buffered is written before the thread returns (a graceful stop loses no line).
    await accessLog?.close();
    logger.flush();
  }
}

function crash(how: 'throw' | 'exit'): void {
  if (how === 'exit') process.exit(70);
  // Thrown from a timer, outside any promise: an uncaught exception, as a bug would be.
  setImmediate(() => {
    throw new InjectedCrashError();
  });
}
