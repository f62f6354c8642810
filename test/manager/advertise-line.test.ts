// The advertise lines of the status page (AllowDisplay On), as mod_manager +
// mod_advertise print them; without advertising the page keeps httpd's
// "mod_advertise.c: not loaded".
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { renderAdvertiseInfo } from '../../src/manager/advertise-line';

test('an advertising proxy: the module line and the Server line of httpd', () => {
  assert.equal(
    renderAdvertiseInfo({
      serverName: 'proxy1.example',
      virtualHost: { host: '10.0.0.5', port: 6666 },
      group: '224.0.1.105',
      groupPort: 23364,
      scheme: 'http',
      host: 'proxy1.example',
      port: 6666,
      frequencySeconds: 10,
    }),
    'mod_advertise.c: OK<br/>Server: proxy1.example VirtualHost: 10.0.0.5:6666 Advertising on Group 224.0.1.105 Port 23364 for http://proxy1.example:6666 every 10 seconds<br/>',
  );
});

test('names are HTML-escaped', () => {
  const line = renderAdvertiseInfo({
    serverName: 'a<b',
    virtualHost: { host: '::1', port: 1 },
    group: 'ff02::1',
    groupPort: 2,
    scheme: 'https',
    host: 'a<b',
    port: 3,
    frequencySeconds: 1,
  });
  assert.ok(line.includes('Server: a&lt;b VirtualHost: ::1:1 Advertising on Group ff02::1 Port 2 for https://a&lt;b:3 every 1 seconds<br/>'), line);
});
