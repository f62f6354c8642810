// Rebuilds the cluster of /work/shared/reference/httpd-mcmp-responses.txt
// (exchanges 11–42): three probe nodes, then node1 with /app on two aliases,
// with httpd's WSUpgradeHeader so http nodes show as ws. httpd accepted
// `Type=udp` (exchange 17); mcmp-edge refuses it (decision D2), so that row is
// written straight into the tables to keep the reference bytes comparable.
import { NODE_CONFIG_DEFAULTS } from '../../src/cluster/defaults';
import { Harness } from './harness';
import type { NodeType } from '../../src/slots/rows';

export const REFERENCE_DIRECTIVES: Array<readonly [string, unknown]> = [
  ['WSUpgradeHeader', 'websocket'],
  ['EnableOptions', 'Off'],
  ['CheckNonce', 'Off'],
];

export async function referenceCluster(): Promise<Harness> {
  const h = new Harness({ directives: REFERENCE_DIRECTIVES });
  await h.ok('CONFIG', 'JVMRoute=probe-foo&Host=127.0.0.1&Port=17098&Foo=bar');
  h.state.putNode(
    {
      ...NODE_CONFIG_DEFAULTS,
      id: 1,
      route: 'probe-udp',
      balancer: 'mycluster',
      host: '127.0.0.1',
      port: 17096,
      type: 'udp' as NodeType,
      removed: false,
    },
    'new',
  );
  await h.ok('config', 'JVMRoute=probe-lower&Host=127.0.0.1&Port=17097');
  await h.ok('CONFIG', 'JVMRoute=node1&Host=127.0.0.1&Port=17010&Type=http');
  await h.ok('STATUS', 'JVMRoute=node1&Load=100');
  await h.ok('ENABLE-APP', 'JVMRoute=node1&Context=/app&Alias=localhost,127.0.0.1', { target: '/app' });
  // One proxied request (exchange 39).
  h.counters.addElected(3);
  h.counters.addRead(3, 56);
  h.counters.addTransferred(3, 199);
  return h;
}

/** Exchange 41. */
export const REFERENCE_INFO =
  'Node: [0],Name: probe-foo,Balancer: mycluster,LBGroup: ,Host: 127.0.0.1,Port: 17098,Type: ajp,Flushpackets: Off,Flushwait: 10,Ping: 10,Smax: -1,Ttl: 60,Elected: 0,Read: 0,Transfered: 0,Connected: 0,Load: 0\n' +
  'Node: [1],Name: probe-udp,Balancer: mycluster,LBGroup: ,Host: 127.0.0.1,Port: 17096,Type: udp,Flushpackets: Off,Flushwait: 10,Ping: 10,Smax: -1,Ttl: 60,Elected: 0,Read: 0,Transfered: 0,Connected: 0,Load: 0\n' +
  'Node: [2],Name: probe-lower,Balancer: mycluster,LBGroup: ,Host: 127.0.0.1,Port: 17097,Type: ajp,Flushpackets: Off,Flushwait: 10,Ping: 10,Smax: -1,Ttl: 60,Elected: 0,Read: 0,Transfered: 0,Connected: 0,Load: 0\n' +
  'Node: [3],Name: node1,Balancer: mycluster,LBGroup: ,Host: 127.0.0.1,Port: 17010,Type: ws,Flushpackets: Off,Flushwait: 10,Ping: 10,Smax: -1,Ttl: 60,Elected: 1,Read: 56,Transfered: 199,Connected: 0,Load: 100\n' +
  'Vhost: [3:1:0], Alias: localhost\n' +
  'Vhost: [3:2:1], Alias: 127.0.0.1\n' +
  'Context: [3:1:0], Context: /app, Status: ENABLED\n' +
  'Context: [3:2:1], Context: /app, Status: ENABLED\n';

/** Exchange 42. */
export const REFERENCE_DUMP =
  'balancer: [0] Name: mycluster Sticky: 1 [JSESSIONID]/[jsessionid] remove: 0 force: 1 Timeout: 0 maxAttempts: 1\n' +
  'node: [0:0],Balancer: mycluster,JVMRoute: probe-foo,LBGroup: [],Host: 127.0.0.1,Port: 17098,Type: ajp,flushpackets: 0,flushwait: 10,ping: 10,smax: -1,ttl: 60,timeout: 0\n' +
  'node: [1:1],Balancer: mycluster,JVMRoute: probe-udp,LBGroup: [],Host: 127.0.0.1,Port: 17096,Type: udp,flushpackets: 0,flushwait: 10,ping: 10,smax: -1,ttl: 60,timeout: 0\n' +
  'node: [2:2],Balancer: mycluster,JVMRoute: probe-lower,LBGroup: [],Host: 127.0.0.1,Port: 17097,Type: ajp,flushpackets: 0,flushwait: 10,ping: 10,smax: -1,ttl: 60,timeout: 0\n' +
  'node: [3:3],Balancer: mycluster,JVMRoute: node1,LBGroup: [],Host: 127.0.0.1,Port: 17010,Type: ws,flushpackets: 0,flushwait: 10,ping: 10,smax: -1,ttl: 60,timeout: 0\n' +
  'host: 0 [localhost] vhost: 1 node: 3\n' +
  'host: 1 [127.0.0.1] vhost: 2 node: 3\n' +
  'context: 0 [/app] vhost: 1 node: 3 status: 1\n' +
  'context: 1 [/app] vhost: 2 node: 3 status: 1\n';
