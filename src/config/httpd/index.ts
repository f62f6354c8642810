// An httpd configuration file as --config: read (with Include, <IfModule>),
// then mapped to mcmp-edge settings.
import { mapHttpd, type HttpdSettings } from './map';
import { readHttpdFile } from './read';

export { HttpdConfigError, looksLikeHttpd } from './syntax';
export type { HttpdSettings, HttpdDirective, HttpdHostPort } from './map';

/** `maxFileBytes` bounds each file read (the main one and every Include). */
export function readHttpdConfig(file: string, maxFileBytes = 1024 * 1024): HttpdSettings {
  const { items, skipped } = readHttpdFile(file, maxFileBytes);
  return mapHttpd(items, skipped);
}
