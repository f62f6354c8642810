// The AJP client's per-request work outside the socket (src/forward/upstream/ajp):
// building the FORWARD_REQUEST from the client's head (AjpRequest), and
// decoding the container's SEND_HEADERS as Tomcat sends it.
import { ClientRequestHead } from '../../src/forward/request/headers';
import { decodeSendHeaders, DEFAULT_PACKET_SIZE } from '../../src/forward/upstream/ajp/protocol';
import { AjpRequest } from '../../src/forward/upstream/ajp/request';
import type { MicroSuite } from './harness';

const SETTINGS = { packetSize: DEFAULT_PACKET_SIZE, secret: '', localAddress: '', localPort: 8080 };
const HANDLER = {};

function clientHead(headers: string[]): ClientRequestHead {
  const c = new ClientRequestHead();
  c.method = 'GET';
  c.url = '/demo/b?size=100&cl=1';
  c.host = 'proxy.example:8080';
  c.setClientAddress('127.0.0.1');
  c.headers.push(...headers);
  c.proxyHeadersFrom = headers.length;
  return c;
}

/** What wrk sends. */
const WRK = clientHead(['host', 'proxy.example:8080']);
/** A browser's GET. */
const BROWSER = clientHead([
  'host', 'shop.example.com',
  'user-agent', 'Mozilla/5.0 (X11; Linux x86_64; rv:128.0) Gecko/20100101 Firefox/128.0',
  'accept', 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8',
  'accept-language', 'en-GB,en;q=0.5',
  'accept-encoding', 'gzip, deflate, br, zstd',
  'cookie', 'JSESSIONID=7F3A9C2E51B04D8A1C2B3D4E5F60718.node7; theme=dark',
  'referer', 'https://shop.example.com/cart',
  'sec-fetch-dest', 'document',
  'sec-fetch-mode', 'navigate',
  'upgrade-insecure-requests', '1',
]);

/** SEND_HEADERS payload as Tomcat 10.1 answers the bench's echo (status, reason "200", coded names). */
function sendHeaders(): Buffer {
  const parts: number[] = [0x04, 0x00, 0xc8];
  const str = (s: string): void => {
    parts.push(s.length >> 8, s.length & 0xff, ...Buffer.from(s, 'latin1'), 0);
  };
  str('200');
  parts.push(0x00, 0x03);
  parts.push(0xa0, 0x01);
  str('text/plain;charset=ISO-8859-1');
  parts.push(0xa0, 0x03);
  str('100');
  parts.push(0xa0, 0x04);
  str('Wed, 02 Dec 2026 09:33:45 GMT');
  return Buffer.from(parts);
}
const SEND_HEADERS = sendHeaders();

export const ajpCodecSuite: MicroSuite = {
  name: 'AJP codec',
  build: () => {
    const head = decodeSendHeaders(SEND_HEADERS, 0, SEND_HEADERS.length);
    if (head.status !== 200 || head.headers.length !== 6) throw new Error('SEND_HEADERS not decoded');
    return [
      { name: 'FORWARD_REQUEST, wrk GET (1 header)', fn: () => new AjpRequest({ method: 'GET', path: WRK.url, client: WRK }, HANDLER, SETTINGS) },
      { name: 'FORWARD_REQUEST, browser GET (10 headers)', fn: () => new AjpRequest({ method: 'GET', path: BROWSER.url, client: BROWSER }, HANDLER, SETTINGS) },
      { name: 'SEND_HEADERS from Tomcat (3 headers)', fn: () => decodeSendHeaders(SEND_HEADERS, 0, SEND_HEADERS.length) },
    ];
  },
};
