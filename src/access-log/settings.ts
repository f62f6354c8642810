// --access-log PATH|- and --access-log-format, or the AccessLog and
// AccessLogFormat directives (an httpd CustomLog maps to them): where the
// lines go and in which format. The file is opened once here, so a path that
// cannot be written is refused at start (exit 2), not by every thread.
import fs from 'node:fs';

export const ACCESS_LOG_FORMATS = ['combined', 'json'] as const;
export type AccessLogFormat = (typeof ACCESS_LOG_FORMATS)[number];

/** The path that means standard output. */
export const STDOUT = '-';

export interface AccessLogSettings {
  /** A file (opened with O_APPEND, created if missing) or `-` for standard output. */
  readonly path: string;
  readonly format: AccessLogFormat;
}

export class AccessLogSettingsError extends Error {
  readonly code = 'ERR_MCMP_EDGE_ACCESS_LOG';
  constructor(message: string) {
    super(message);
    this.name = 'AccessLogSettingsError';
  }
}

/** Where a value came from, for the error line: a flag or a directive. */
export interface AccessLogSources {
  readonly path: string;
  readonly format: string;
}

/**
 * The access log, or null when none is asked for. `path` undefined or '':
 * none. `format` undefined: combined. Throws AccessLogSettingsError naming
 * the source and what it accepts.
 */
export function accessLogSettings(path: string | undefined, format: string | undefined, sources: AccessLogSources): AccessLogSettings | null {
  let chosen: AccessLogFormat = 'combined';
  if (format !== undefined) {
    const lower = format.trim().toLowerCase();
    const known = ACCESS_LOG_FORMATS.find((f) => f === lower);
    if (known === undefined) throw new AccessLogSettingsError(`${sources.format}: bad value ${JSON.stringify(format)}; expected ${ACCESS_LOG_FORMATS.join(' or ')}`);
    chosen = known;
  }
  if (path === undefined || path === '') return null;
  if (path !== STDOUT) checkWritable(path, sources.path);
  return { path, format: chosen };
}

function checkWritable(path: string, source: string): void {
  if (path.includes('\0')) throw new AccessLogSettingsError(`${source}: bad value ${JSON.stringify(path)}; expected a file path or - for standard output`);
  let fd: number;
  try {
    fd = fs.openSync(path, 'a');
  } catch (err) {
    throw new AccessLogSettingsError(`${source}: cannot open ${JSON.stringify(path)} for appending (${(err as NodeJS.ErrnoException).code ?? (err as Error).message}); expected a writable file path or - for standard output`);
  }
  try {
    const stat = fs.fstatSync(fd);
    if (!stat.isFile() && !stat.isFIFO() && !stat.isCharacterDevice()) {
      throw new AccessLogSettingsError(`${source}: ${JSON.stringify(path)} is not a file; expected a writable file path or - for standard output`);
    }
  } finally {
    fs.closeSync(fd);
  }
}
