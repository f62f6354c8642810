// Session-id extraction (MCMP.md §5.3): the Cookie header first, then the
// ;jsessionid= path parameter.
import { findSessionId } from '../../src/router/session';
import type { MicroSuite } from './harness';

const COOKIE = '_ga=GA1.2.1234567890.1700000000; lang=en-GB; JSESSIONID=7F3A9C2E51B04D8A1C2B.node7; theme=dark';
const COOKIE_WITHOUT = '_ga=GA1.2.1234567890.1700000000; lang=en-GB; theme=dark';
const URL_WITH = '/shop/cart;jsessionid=7F3A9C2E51B04D8A1C2B.node7?item=42';
const URL_PLAIN = '/shop/cart?item=42';

export const sessionSuite: MicroSuite = {
  name: 'findSessionId',
  build: () => {
    if (findSessionId(COOKIE, URL_PLAIN, 'JSESSIONID', 'jsessionid')?.id !== '7F3A9C2E51B04D8A1C2B.node7') throw new Error('cookie session id not found');
    if (findSessionId('', URL_WITH, 'JSESSIONID', 'jsessionid')?.id !== '7F3A9C2E51B04D8A1C2B.node7') throw new Error('path session id not found');
    return [
      { name: 'cookie header, 4 cookies', fn: () => findSessionId(COOKIE, URL_PLAIN, 'JSESSIONID', 'jsessionid') },
      { name: ';jsessionid= path parameter', fn: () => findSessionId('', URL_WITH, 'JSESSIONID', 'jsessionid') },
      { name: 'none (cookies without it, plain URL)', fn: () => findSessionId(COOKIE_WITHOUT, URL_PLAIN, 'JSESSIONID', 'jsessionid') },
      { name: 'none (no Cookie header)', fn: () => findSessionId('', URL_PLAIN, 'JSESSIONID', 'jsessionid') },
    ];
  },
};
