// The uWS SSLApp options of the edge: the default certificate and one entry
// per SNI name. uWS reads the files itself (BoringSSL), so this is names only;
// checkTlsFiles has opened them first.
import type { AppOptions } from 'uWebSockets.js';
import { TLS12_CIPHERS } from './ciphers';
import type { EdgeTlsSettings } from './settings';

export interface EdgeAppOptions {
  readonly main: AppOptions;
  readonly sni: ReadonlyArray<{ readonly name: string; readonly options: AppOptions }>;
}

export function edgeAppOptions(edge: EdgeTlsSettings, passphrase: string | undefined): EdgeAppOptions {
  const common: AppOptions = {
    ssl_ciphers: TLS12_CIPHERS,
    ...(passphrase === undefined ? {} : { passphrase }),
    // uSockets asks for a client certificate whenever a CA file is set, and refuses one that does not chain to it.
    ...(edge.clientCa === undefined ? {} : { ca_file_name: edge.clientCa }),
  };
  return {
    main: { ...common, cert_file_name: edge.cert, key_file_name: edge.key },
    sni: edge.sni.map((e) => ({ name: e.name, options: { ...common, cert_file_name: e.cert, key_file_name: e.key } })),
  };
}
