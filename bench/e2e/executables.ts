// Locates optional peer binaries without running a shell.
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

const SBIN = ['/usr/sbin', '/usr/local/sbin', '/sbin'];

/** The first executable named `name` on PATH or in the sbin directories, else undefined. */
export function findExecutable(name: string, extraPaths: readonly string[] = []): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter).filter((d) => d.length > 0), ...SBIN];
  const candidates = [...extraPaths, ...dirs.map((d) => path.join(d, name))];
  for (const file of candidates) {
    try {
      accessSync(file, constants.X_OK);
      return file;
    } catch {
      // Try the next one.
    }
  }
  return undefined;
}
