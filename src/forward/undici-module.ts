// undici, loaded the first time a thread needs it: the default HTTP/1.1
// client is h1/, so undici only serves WebSocket tunnels and
// MCMP_EDGE_UPSTREAM=undici. Loading it costs each forwarding thread about
// 3 MiB of V8 heap and its llhttp WebAssembly (measured: +8 MiB committed
// heap, +6.6 MiB RSS per thread), whether a tunnel is ever opened or not.
type Undici = typeof import('undici');

let loaded: Undici | undefined;

export function undici(): Undici {
  loaded ??= require('undici') as Undici;
  return loaded;
}
