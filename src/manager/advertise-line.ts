// The advertise part of the page's "httpd.conf" block (AllowDisplay On), as
// mod_manager and mod_advertise print it: the module line, then for the one
// advertising server `Server: NAME VirtualHost: ADDR:PORT Advertising on
// Group G Port P for SCHEME://HOST:PORT every S seconds<br/>`.
import { htmlEscape } from './page';

/** What is advertised, in httpd's terms (the values are printed as httpd prints them: IPv6 hosts bare). */
export interface AdvertiseInfo {
  /** The advertising server's name (X-Manager-Host). */
  readonly serverName: string;
  /** The MCMP listener: the advertising virtual host. */
  readonly virtualHost: { readonly host: string; readonly port: number };
  readonly group: string;
  readonly groupPort: number;
  readonly scheme: string;
  readonly host: string;
  readonly port: number;
  readonly frequencySeconds: number;
}

/** The lines for an advertising proxy; without advertising the page keeps httpd's `mod_advertise.c: not loaded<br/>`. */
export function renderAdvertiseInfo(info: AdvertiseInfo): string {
  return (
    `mod_advertise.c: OK<br/>Server: ${htmlEscape(info.serverName)} VirtualHost: ${info.virtualHost.host}:${info.virtualHost.port}` +
    ` Advertising on Group ${info.group} Port ${info.groupPort} for ${info.scheme}://${htmlEscape(info.host)}:${info.port} every ${info.frequencySeconds} seconds<br/>`
  );
}
