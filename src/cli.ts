#!/usr/bin/env node
// Entry point of the `mcmp-edge` command.
import { NativeBindingError, loadUws } from '../native-bindings/uws';
import { USAGE, UsageError, parseCommandLine } from './options/args';
import { runCtl } from './ctl/index';
import { createLogger } from './log';
import { McmpEdge } from './primary';
import { TlsConfigError } from './tls/errors';
import { checkTlsFiles } from './tls/settings';
import { AllowList } from './mcmp/http/allow';

// eslint-disable-next-line @typescript-eslint/no-require-imports
const { version } = require('../../package.json') as { version: string };

export async function main(argv: readonly string[]): Promise<number> {
  if (argv[0] === 'ctl') return runCtl(argv.slice(1));
  let command;
  try {
    command = parseCommandLine(argv);
    if (command.kind === 'run') {
      AllowList.parse(command.options.allow);
      if (command.options.pageAllow !== undefined) AllowList.parse(command.options.pageAllow);
      // Here, before any thread starts: uWS would only say "App construction failed". (Not in
      // parseCommandLine: on SIGHUP a bad pair is the TLS reload's warning, not a refused configuration.)
      checkTlsFiles(command.options.tls);
    }
  } catch (err) {
    if (err instanceof UsageError || err instanceof TlsConfigError) {
      process.stderr.write(`mcmp-edge: ${err.message}\n`);
      return 2;
    }
    if ((err as { code?: string }).code === 'ERR_MCMP_EDGE_ALLOW') {
      process.stderr.write(`mcmp-edge: --allow: ${(err as Error).message}\n`);
      return 2;
    }
    throw err;
  }
  if (command.kind === 'help') {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  if (command.kind === 'version') {
    process.stdout.write(`mcmp-edge ${version}\n`);
    return 0;
  }
  try {
    loadUws();
  } catch (err) {
    if (err instanceof NativeBindingError) {
      process.stderr.write(`mcmp-edge: ${err.message}\n`);
      return 1;
    }
    throw err;
  }
  const logger = createLogger(command.options.logLevel as 'info');
  const proxy = new McmpEdge(command.options, logger);
  // Signals are handled from the start, so a SIGTERM during start-up also stops cleanly.
  let stopped: ((code: number) => void) | undefined;
  const exit = new Promise<number>((resolve) => {
    stopped = resolve;
  });
  const shutdown = (signal: string): void => {
    const began = Date.now();
    logger.info({ signal, drainTimeoutMs: command.options.drainTimeoutMs }, 'shutting down');
    // One line that says how the process ends and how long the drain took (a supervisor's log shows both).
    const done = (exitCode: number, err?: unknown): void => {
      const fields = { signal, exitCode, drainMs: Date.now() - began };
      if (err === undefined) logger.info(fields, 'mcmp-edge exiting');
      else logger.error({ ...fields, err }, 'unclean shutdown');
      stopped?.(exitCode);
    };
    proxy.stop().then(
      () => done(0),
      (err: unknown) => done(1, err),
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
  try {
    const { listen, manager, listenTls } = await proxy.start();
    if (listenTls.length > 0) process.stdout.write(`mcmp-edge TLS: clients on ${listenTls.map(formatAddress).join(', ')}\n`);
    // One plain line on stdout whatever the log level, so people and scripts know where it listens.
    process.stdout.write(`mcmp-edge ready: clients on ${formatAddress(listen)}, MCMP and status page on ${formatAddress(manager)}\n`);
  } catch (err) {
    logger.fatal({ err }, 'cannot start');
    await proxy.stop().catch(() => undefined);
    logger.flush();
    return 1;
  }
  return exit;
}

function formatAddress(a: { host: string; port: number }): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

if (require.main === module) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
      // Everything is closed by now; if a stray handle still holds the loop, do not hang.
      setTimeout(() => process.exit(code), 2000).unref();
    },
    (err: unknown) => {
      process.stderr.write(`mcmp-edge: ${(err as Error).stack ?? String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
