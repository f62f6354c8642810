// Builds addon.c on demand (never on npm install): with a C compiler and the
// headers of the running node (node_api.h and uv.h: the node-api-headers
// package has no uv.h), into dist/ beside this file. Rebuilt when the source
// is newer than the binary.
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import process from 'node:process';
import { findExecutable } from '../e2e/executables';

export class AddonBuildError extends Error {
  readonly code = 'ERR_UPSTREAM_IO_ADDON_BUILD';
  constructor(message: string) {
    super(message);
    this.name = 'AddonBuildError';
  }
}

/** The source in the repository (dist/bench/upstream-io → bench/upstream-io). */
const SOURCE = path.resolve(__dirname, '../../../bench/upstream-io/addon.c');
const OUTPUT = path.join(__dirname, 'upstream_io.node');

/** Where a node installation keeps its headers: beside the binary (official builds), then Debian's. */
function headerDirs(): string[] {
  const own = path.resolve(path.dirname(process.execPath), '../include/node');
  return [...new Set([own, '/usr/include/node'])];
}

function headersWithUv(): string | undefined {
  return headerDirs().find((d) => existsSync(path.join(d, 'node_api.h')) && existsSync(path.join(d, 'uv.h')));
}

/** The path of the built addon; throws AddonBuildError saying what is missing. */
export function buildAddon(): string {
  if (!existsSync(SOURCE)) throw new AddonBuildError(`source not found: ${SOURCE}`);
  if (existsSync(OUTPUT) && statSync(OUTPUT).mtimeMs >= statSync(SOURCE).mtimeMs) return OUTPUT;
  const compiler = process.env.CC ?? findExecutable('cc') ?? findExecutable('gcc') ?? findExecutable('clang');
  if (compiler === undefined) throw new AddonBuildError('no C compiler (cc, gcc or clang; apt-get install gcc)');
  const include = headersWithUv();
  if (include === undefined) {
    throw new AddonBuildError(`no node_api.h + uv.h in ${headerDirs().join(' or ')} (Debian's nodejs package and official node builds ship them)`);
  }
  const args = ['-O2', '-Wall', '-shared', '-fPIC', '-DNODE_GYP_MODULE_NAME=upstream_io', `-I${include}`, '-o', OUTPUT, SOURCE];
  const r = spawnSync(compiler, args, { encoding: 'utf8' });
  if (r.status !== 0) {
    throw new AddonBuildError(`${compiler} ${args.join(' ')} failed:\n${r.stderr ?? r.error?.message ?? ''}`);
  }
  return OUTPUT;
}
