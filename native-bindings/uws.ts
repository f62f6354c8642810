// The boundary to uWebSockets.js. The npm package silently falls back to a slow
// pure-JS server when its native binary cannot be loaded; a proxy that would
// quietly run several times slower is worse than one that refuses to start, so
// this module loads the binary itself and never the fallback.
import path from 'node:path';
import type * as UwsTypes from 'uWebSockets.js';

export type Uws = typeof UwsTypes;

export class NativeBindingError extends Error {
  readonly code = 'ERR_MCMP_EDGE_NATIVE_UWS';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NativeBindingError';
  }
}

/** The file name uWebSockets.js ships for this platform, arch and Node ABI. */
export function binaryName(
  platform: string = process.platform,
  arch: string = process.arch,
  modules: string = process.versions.modules,
): string {
  return `uws_${platform}_${arch}_${modules}.node`;
}

let loaded: Uws | undefined;

/**
 * Loads the native uWebSockets.js binary or throws NativeBindingError with a
 * message that says what is missing and what to do.
 */
export function loadUws(): Uws {
  if (loaded !== undefined) return loaded;
  const fallbackFlag = process.env.UWS_USE_FALLBACK;
  if (fallbackFlag !== undefined && /^(1|true)$/i.test(fallbackFlag)) {
    throw new NativeBindingError(
      'UWS_USE_FALLBACK is set: mcmp-edge refuses the slow JavaScript fallback of uWebSockets.js; unset it.',
    );
  }
  let pkgDir: string;
  try {
    pkgDir = path.dirname(require.resolve('uWebSockets.js/package.json'));
  } catch (cause) {
    throw new NativeBindingError(
      'uWebSockets.js is not installed (run `npm install` in the mcmp-edge directory).',
      { cause },
    );
  }
  loaded = loadUwsFrom(path.join(pkgDir, 'binaries', binaryName()));
  return loaded;
}

/** Loads one uWebSockets.js binary file; anything but the native addon is refused. */
export function loadUwsFrom(file: string): Uws {
  let mod: unknown;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    mod = require(file);
  } catch (cause) {
    const reason = cause instanceof Error ? (cause.message.split('\n')[0] ?? '') : String(cause);
    throw new NativeBindingError(
      `uWebSockets.js has no working native binary for ${process.platform}/${process.arch} ` +
        `Node ABI ${process.versions.modules} (Node ${process.versions.node}): ${reason}. ` +
        'mcmp-edge needs the native binary (Linux x64, Node 18 or 20) and refuses the slow JavaScript fallback.',
      { cause },
    );
  }
  if (!isNative(mod)) {
    throw new NativeBindingError(`${file} did not load as the native uWebSockets.js addon; mcmp-edge refuses the slow JavaScript fallback.`);
  }
  return mod;
}

function isNative(mod: unknown): mod is Uws {
  if (typeof mod !== 'object' || mod === null) return false;
  const m = mod as Record<string, unknown>;
  // The JS fallback has App but not the native-only symbols below.
  return typeof m.App === 'function' && typeof m.us_listen_socket_close === 'function' && typeof m.getParts === 'function';
}
