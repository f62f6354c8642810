// MCMP request parsing as the primary does it for every message: the HTTP/1.1
// request parser of the MCMP listener, then the body grammar of MCMP.md §1.5.
import { McmpHandler } from '../../src/mcmp/handler';
import { parseMcmpBody } from '../../src/mcmp/body';
import { RequestParser, type HttpRequest } from '../../src/mcmp/http/parser';
import { mcmpRequest } from '../../test/helpers/raw-http';
import type { MicroCase, MicroSuite } from './harness';

const CONFIG_BODY = 'JVMRoute=node1&Host=192.168.1.10&Port=8009&StickySessionForce=No&Type=ajp';
const STATUS_BODY = 'JVMRoute=node1&Load=87';
/** An application server with 20 aliases and 40 contexts, as java.net.URLEncoder sends it. */
const BIG_ENABLE_BODY =
  `JVMRoute=node1&Alias=${Array.from({ length: 20 }, (_, i) => `host${i}.example.com`).join('%2C')}` +
  `&Context=${Array.from({ length: 40 }, (_, i) => `%2Fapplication-${i}`).join('%2C')}`;

function parserCase(name: string, raw: string, splitAt?: number): MicroCase {
  let last: HttpRequest | undefined;
  const parser = new RequestParser({
    maxHeaderSize: 8192,
    maxBodySize: 13188,
    methods: McmpHandler.METHODS,
    remoteAddress: '127.0.0.1',
    remotePort: 40000,
    onRequest: (req) => {
      last = req;
    },
  });
  const whole = Buffer.from(raw, 'latin1');
  const parts = splitAt === undefined ? [whole] : [whole.subarray(0, splitAt), whole.subarray(splitAt)];
  return {
    name,
    fn: () => {
      // The same connection: one complete keep-alive request per operation.
      for (const p of parts) parser.push(p);
      return last;
    },
  };
}

export const mcmpParseSuite: MicroSuite = {
  name: 'MCMP request parsing',
  build: () => [
    parserCase('HTTP parser: CONFIG (Java bytes, one packet)', mcmpRequest('CONFIG', CONFIG_BODY)),
    parserCase('HTTP parser: STATUS (one packet)', mcmpRequest('STATUS', STATUS_BODY)),
    parserCase('HTTP parser: STATUS split inside the headers', mcmpRequest('STATUS', STATUS_BODY), 30),
    { name: 'body grammar: CONFIG', fn: () => parseMcmpBody(Buffer.from(CONFIG_BODY, 'latin1')) },
    { name: 'body grammar: STATUS', fn: () => parseMcmpBody(Buffer.from(STATUS_BODY, 'latin1')) },
    { name: 'body grammar: ENABLE-APP, 20 aliases, 40 contexts', fn: () => parseMcmpBody(Buffer.from(BIG_ENABLE_BODY, 'latin1')) },
  ],
};
