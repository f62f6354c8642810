// Every entry of the MCMP.md §2.0 catalogue, produced through McmpHandler.handle:
// exact status, Version/Type/Mess headers, a non-empty body, and (for the
// refusals) tables and loads unchanged, compared through DUMP and INFO.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { MCMP_ERRORS, McmpError } from '../../src/mcmp/errors';
import { Harness, header } from './harness';

const r = (n: number, c = 'r'): string => c.repeat(n);

interface Case {
  readonly id: keyof typeof MCMP_ERRORS;
  readonly label: string;
  readonly method: string;
  readonly body?: string;
  readonly target?: string;
  readonly tooLarge?: boolean;
  readonly directives?: Array<readonly [string, unknown]>;
  readonly setup?: (h: Harness) => Promise<void>;
  readonly type: 'SYNTAX' | 'MEM' | 'GENERAL';
  readonly mess: string;
}

const SMESPAR = "SYNTAX: Can't parse MCMP message. It might have contained illegal symbols or unknown elements.";

const CASES: Case[] = [
  { id: 'SMESPAR', label: 'CONFIG with an empty body', method: 'CONFIG', body: '', type: 'SYNTAX', mess: SMESPAR },
  { id: 'SMESPAR', label: 'CONFIG with an empty JVMRoute', method: 'CONFIG', body: 'JVMRoute=', type: 'SYNTAX', mess: SMESPAR },
  { id: 'SMESPAR', label: 'CONFIG with a name without value', method: 'CONFIG', body: 'JVMRoute=probe-x&Host', type: 'SYNTAX', mess: SMESPAR },
  { id: 'SMESPAR', label: 'CONFIG with an empty value of an unknown name', method: 'CONFIG', body: 'Foo=&JVMRoute=x', type: 'SYNTAX', mess: SMESPAR },
  { id: 'SMESPAR', label: 'INFO whose body holds <', method: 'INFO', body: 'x=<', type: 'SYNTAX', mess: SMESPAR },
  { id: 'SMESPAR', label: 'STATUS with JVMRoute but no value', method: 'STATUS', body: 'JVMRoute', type: 'SYNTAX', mess: SMESPAR },
  { id: 'SMESPAR', label: 'ENABLE-APP with Context but no value', method: 'ENABLE-APP', body: 'JVMRoute=n0&Alias=a&Context', type: 'SYNTAX', mess: SMESPAR },
  { id: 'SMESPAR', label: 'a body over MaxMCMPMessSize (decision D1)', method: 'CONFIG', body: 'JVMRoute=big', tooLarge: true, type: 'SYNTAX', mess: SMESPAR },
  { id: 'SBALBIG', label: 'CONFIG Balancer of 40 characters', method: 'CONFIG', body: `JVMRoute=x&Balancer=${r(40, 'b')}`, type: 'SYNTAX', mess: 'SYNTAX: Balancer field too big' },
  { id: 'SBAFBIG', label: 'CONFIG StickySessionCookie of 30 characters', method: 'CONFIG', body: `JVMRoute=x&StickySessionCookie=${r(30, 'c')}`, type: 'SYNTAX', mess: 'SYNTAX: A field is too big' },
  { id: 'SBAFBIG', label: 'CONFIG StickySessionPath of 31 characters', method: 'CONFIG', body: `JVMRoute=x&StickySessionPath=${r(31, 'p')}`, type: 'SYNTAX', mess: 'SYNTAX: A field is too big' },
  { id: 'SROUBIG', label: 'CONFIG JVMRoute of 64 characters', method: 'CONFIG', body: `JVMRoute=${r(64)}`, type: 'SYNTAX', mess: 'SYNTAX: JVMRoute field too big' },
  { id: 'SROUBIG', label: 'CONFIG JVMRoute of 65 characters', method: 'CONFIG', body: `JVMRoute=${r(65)}`, type: 'SYNTAX', mess: 'SYNTAX: JVMRoute field too big' },
  { id: 'SROUBIG', label: 'STATUS JVMRoute of 64 characters', method: 'STATUS', body: `JVMRoute=${r(64)}&Load=1`, type: 'SYNTAX', mess: 'SYNTAX: JVMRoute field too big' },
  { id: 'SROUBIG', label: 'ENABLE-APP JVMRoute of 64 characters', method: 'ENABLE-APP', body: `JVMRoute=${r(64)}&Alias=a&Context=/c`, type: 'SYNTAX', mess: 'SYNTAX: JVMRoute field too big' },
  { id: 'SROUBIG', label: 'PING JVMRoute of 64 characters', method: 'PING', body: `JVMRoute=${r(64)}`, type: 'SYNTAX', mess: 'SYNTAX: JVMRoute field too big' },
  { id: 'SROUBAD', label: 'CONFIG without JVMRoute', method: 'CONFIG', body: 'Host=127.0.0.1&Port=17010&Type=http', type: 'SYNTAX', mess: "SYNTAX: JVMRoute can't be empty" },
  { id: 'SROUBAD', label: 'ENABLE-APP without JVMRoute', method: 'ENABLE-APP', body: 'Alias=a&Context=/c', type: 'SYNTAX', mess: "SYNTAX: JVMRoute can't be empty" },
  { id: 'SROUBAD', label: 'REMOVE-APP /* with an empty body', method: 'REMOVE-APP', target: '/*', body: '', type: 'SYNTAX', mess: "SYNTAX: JVMRoute can't be empty" },
  { id: 'SDOMBIG', label: 'CONFIG Domain of 20 characters', method: 'CONFIG', body: `JVMRoute=x&Domain=${r(20, 'd')}`, type: 'SYNTAX', mess: 'SYNTAX: LBGroup field too big' },
  { id: 'SHOSBIG', label: 'CONFIG Host of 64 characters', method: 'CONFIG', body: `JVMRoute=x&Host=${r(64, 'h')}`, type: 'SYNTAX', mess: 'SYNTAX: Host field too big' },
  { id: 'SPORBIG', label: 'CONFIG Port of 7 characters', method: 'CONFIG', body: 'JVMRoute=x&Port=1234567', type: 'SYNTAX', mess: 'SYNTAX: Port field too big' },
  { id: 'SPORBIG', label: 'CONFIG Port that is not a number (decision D2)', method: 'CONFIG', body: 'JVMRoute=x&Port=abc', type: 'SYNTAX', mess: 'SYNTAX: Port field too big' },
  { id: 'SPORBIG', label: 'CONFIG Port 0 (decision D2)', method: 'CONFIG', body: 'JVMRoute=x&Port=0', type: 'SYNTAX', mess: 'SYNTAX: Port field too big' },
  { id: 'SPORBIG', label: 'CONFIG Port 65536 (decision D2)', method: 'CONFIG', body: 'JVMRoute=x&Port=65536', type: 'SYNTAX', mess: 'SYNTAX: Port field too big' },
  { id: 'STYPBIG', label: 'CONFIG Type of 16 characters', method: 'CONFIG', body: `JVMRoute=x&Type=${r(16, 't')}`, type: 'SYNTAX', mess: 'SYNTAX: Type field too big' },
  { id: 'STYPBAD', label: 'CONFIG Type=udp (decision D2)', method: 'CONFIG', body: 'JVMRoute=probe-udp&Host=127.0.0.1&Port=17096&Type=udp', type: 'SYNTAX', mess: 'SYNTAX: Type field has bad value' },
  { id: 'SALIBIG', label: 'CONFIG Alias of 255 characters', method: 'CONFIG', body: `JVMRoute=x&Alias=${r(255, 'a')}&Context=/c`, type: 'SYNTAX', mess: 'SYNTAX: Alias field too big' },
  { id: 'SALIBIG', label: 'CONFIG second Alias item of 256 characters', method: 'CONFIG', body: `JVMRoute=x&Alias=a,${r(256, 'a')}&Context=/c`, type: 'SYNTAX', mess: 'SYNTAX: Alias field too big' },
  { id: 'SALIBIG', label: 'ENABLE-APP Alias of 255 characters', method: 'ENABLE-APP', body: `JVMRoute=n0&Alias=${r(255, 'a')}&Context=/c`, type: 'SYNTAX', mess: 'SYNTAX: Alias field too big' },
  { id: 'SCONBIG', label: 'CONFIG Context of 80 characters', method: 'CONFIG', body: `JVMRoute=x&Alias=a&Context=/${r(79, 'c')}`, type: 'SYNTAX', mess: 'SYNTAX: Context field too big' },
  { id: 'SCONBIG', label: 'STOP-APP Context of 81 characters', method: 'STOP-APP', body: `JVMRoute=n0&Alias=a&Context=/${r(80, 'c')}`, type: 'SYNTAX', mess: 'SYNTAX: Context field too big' },
  { id: 'SFLUBAD', label: 'CONFIG flushwait=-30', method: 'CONFIG', body: 'JVMRoute=probe-x&flushwait=-30', type: 'SYNTAX', mess: 'SYNTAX: Flushwait field has bad value' },
  { id: 'SFLUBAD', label: 'CONFIG flushwait with an unknown unit', method: 'CONFIG', body: 'JVMRoute=probe-x&flushwait=5x', type: 'SYNTAX', mess: 'SYNTAX: Flushwait field has bad value' },
  { id: 'SPNGBAD', label: 'CONFIG ping=-1', method: 'CONFIG', body: 'JVMRoute=x&ping=-1', type: 'SYNTAX', mess: 'SYNTAX: Ping field has bad value' },
  { id: 'SPNGBAD', label: 'CONFIG ping=abc', method: 'CONFIG', body: 'JVMRoute=x&ping=abc', type: 'SYNTAX', mess: 'SYNTAX: Ping field has bad value' },
  { id: 'STTLBAD', label: 'CONFIG ttl=-1', method: 'CONFIG', body: 'JVMRoute=x&ttl=-1', type: 'SYNTAX', mess: 'SYNTAX: TTL field has bad value' },
  { id: 'STIMBAD', label: 'CONFIG timeout=-1', method: 'CONFIG', body: 'JVMRoute=x&timeout=-1', type: 'SYNTAX', mess: 'SYNTAX: Timeout field has bad value' },
  { id: 'SALIBAD', label: 'CONFIG with Alias but no Context', method: 'CONFIG', body: 'JVMRoute=x&Alias=a', type: 'SYNTAX', mess: 'SYNTAX: Alias without Context' },
  { id: 'SALIBAD', label: 'ENABLE-APP without Context', method: 'ENABLE-APP', body: 'JVMRoute=n0&Alias=localhost', type: 'SYNTAX', mess: 'SYNTAX: Alias without Context' },
  { id: 'SCONBAD', label: 'CONFIG with Context but no Alias', method: 'CONFIG', body: 'JVMRoute=probe-x&Context=/app', type: 'SYNTAX', mess: 'SYNTAX: Context without Alias' },
  { id: 'SCONBAD', label: 'ENABLE-APP without Alias', method: 'ENABLE-APP', body: 'JVMRoute=n0&Context=/app', type: 'SYNTAX', mess: 'SYNTAX: Context without Alias' },
  { id: 'NOCONAL', label: 'DISABLE-APP with neither Alias nor Context', method: 'DISABLE-APP', body: 'JVMRoute=n0', type: 'SYNTAX', mess: 'SYNTAX: No Context and Alias in APP command' },
  { id: 'SBADFLD', label: 'STATUS with an empty body', method: 'STATUS', body: '', type: 'SYNTAX', mess: 'SYNTAX: Invalid field "" in message' },
  { id: 'SBADFLD', label: 'STATUS with an unknown field', method: 'STATUS', body: 'JVMRoute=n0&Foo=1', type: 'SYNTAX', mess: 'SYNTAX: Invalid field "Foo" in message' },
  { id: 'SBADFLD', label: 'PING with an unknown field', method: 'PING', body: 'Bar=1', type: 'SYNTAX', mess: 'SYNTAX: Invalid field "Bar" in message' },
  { id: 'SMISFLD', label: 'PING with Scheme but no Host or Port', method: 'PING', body: 'Scheme=http', type: 'SYNTAX', mess: 'SYNTAX: Mandatory field(s) missing in message' },
  { id: 'SMISFLD', label: 'PING with Host and Port but no Scheme', method: 'PING', body: 'Host=127.0.0.1&Port=8080', type: 'SYNTAX', mess: 'SYNTAX: Mandatory field(s) missing in message' },
  { id: 'SCMDUNS', label: 'a method that is not MCMP', method: 'STATUS-RSP', body: 'JVMRoute=n0', type: 'SYNTAX', mess: 'SYNTAX: Command is not supported' },
  { id: 'EALIEMP', label: 'CONFIG Alias list with an empty item', method: 'CONFIG', body: 'JVMRoute=x&Alias=a,,b&Context=/c', type: 'SYNTAX', mess: 'TODO: Empty Alias is not allowed' },
  { id: 'EALIEMP', label: 'CONFIG Alias list with a trailing comma', method: 'CONFIG', body: 'JVMRoute=x&Alias=a,&Context=/c', type: 'SYNTAX', mess: 'TODO: Empty Alias is not allowed' },
  { id: 'EALIEMP', label: 'ENABLE-APP with an empty Alias', method: 'ENABLE-APP', body: 'JVMRoute=n0&Alias=&Context=/c', type: 'SYNTAX', mess: 'TODO: Empty Alias is not allowed' },
  { id: 'ECONEMP', label: 'CONFIG Context list with an empty item', method: 'CONFIG', body: 'JVMRoute=x&Alias=a&Context=/c,', type: 'SYNTAX', mess: 'TODO: Empty Context is not allowed' },
  { id: 'ECONEMP', label: 'REMOVE-APP with an empty Context', method: 'REMOVE-APP', body: 'JVMRoute=n0&Alias=a&Context=', type: 'SYNTAX', mess: 'TODO: Empty Context is not allowed' },
  { id: 'ELOADBAD', label: 'STATUS Load=101', method: 'STATUS', body: 'JVMRoute=n0&Load=101', type: 'SYNTAX', mess: 'TODO: Bad value for Load' },
  { id: 'ELOADBAD', label: 'STATUS Load=-2', method: 'STATUS', body: 'JVMRoute=n0&Load=-2', type: 'SYNTAX', mess: 'TODO: Bad value for Load' },
  { id: 'ELOADBAD', label: 'STATUS Load=abc', method: 'STATUS', body: 'JVMRoute=n0&Load=abc', type: 'SYNTAX', mess: 'TODO: Bad value for Load' },
  { id: 'ELOADBAD', label: 'STATUS Load=500', method: 'STATUS', body: 'JVMRoute=n0&Load=500', type: 'SYNTAX', mess: 'TODO: Bad value for Load' },
  { id: 'ENOROUTE', label: 'STATUS with a Load but no JVMRoute', method: 'STATUS', body: 'Load=50', type: 'SYNTAX', mess: 'TODO: No JVMRoute given!' },
  { id: 'EPINGSCH', label: 'PING Scheme=udp', method: 'PING', body: 'Scheme=udp&Host=127.0.0.1&Port=17010', type: 'SYNTAX', mess: 'PING Unsupported scheme: udp' },
  {
    id: 'MNODEUI',
    label: 'CONFIG of a new node when every node slot is used',
    method: 'CONFIG',
    body: 'JVMRoute=n1&Host=127.0.0.1&Port=9001&Type=http',
    directives: [['Maxnode', 1]],
    type: 'MEM',
    mess: 'MEM: Can\'t update or insert node with "n1" JVMRoute',
  },
  {
    id: 'MBALAUI',
    label: 'CONFIG with a new balancer when the balancer table is full',
    method: 'CONFIG',
    body: 'JVMRoute=n1&Host=127.0.0.1&Port=9001&Type=http&Balancer=second',
    directives: [
      ['Maxnode', 2],
      ['Maxhost', 2],
      ['Maxcontext', 2],
    ],
    setup: async (h) => {
      // Balancer rows outlive their nodes: fill the table, then free a node slot.
      await h.ok('CONFIG', 'JVMRoute=tmp&Host=127.0.0.1&Port=9002&Type=http&Balancer=first');
      const tmp = h.state.findNode('tmp');
      assert.ok(tmp);
      h.state.deleteNode(tmp.id);
    },
    type: 'MEM',
    mess: 'MEM: Can\'t update or insert balancer for node with "n1" JVMRoute',
  },
  { id: 'MNODERD', label: 'STATUS of an unknown node', method: 'STATUS', body: 'JVMRoute=nonexistent', type: 'MEM', mess: 'MEM: Can\'t read node with "nonexistent" JVMRoute' },
  { id: 'MNODERD', label: 'ENABLE-APP of an unknown node', method: 'ENABLE-APP', body: 'JVMRoute=nope&Context=/app&Alias=localhost', type: 'MEM', mess: 'MEM: Can\'t read node with "nope" JVMRoute' },
  { id: 'MNODERD', label: 'REMOVE-APP of an unknown node (2.x: an error)', method: 'REMOVE-APP', body: 'JVMRoute=nope&Context=/app&Alias=localhost', type: 'MEM', mess: 'MEM: Can\'t read node with "nope" JVMRoute' },
  { id: 'MNODERD', label: 'PING of an unknown node', method: 'PING', body: 'JVMRoute=nonexistent', type: 'MEM', mess: 'MEM: Can\'t read node with "nonexistent" JVMRoute' },
  {
    id: 'MNODERD',
    label: 'ENABLE-APP /* of a node marked for removal',
    method: 'ENABLE-APP',
    target: '/*',
    body: 'JVMRoute=gone',
    setup: async (h) => {
      await h.ok('CONFIG', 'JVMRoute=gone&Host=127.0.0.1&Port=9003&Type=http');
      await h.ok('REMOVE-APP', 'JVMRoute=gone', { target: '/*' });
    },
    type: 'MEM',
    mess: 'MEM: Can\'t read node with "gone" JVMRoute',
  },
  { id: 'MNODEEX', label: 'CONFIG of an existing route with another Port', method: 'CONFIG', body: 'JVMRoute=n0&Host=127.0.0.1&Port=9999&Type=http', type: 'MEM', mess: 'MEM: Node with "n0" JVMRoute already exists' },
  { id: 'MNODEET', label: 'CONFIG of a new route on the worker of a live node', method: 'CONFIG', body: 'JVMRoute=twin&Host=127.0.0.1&Port=9000&Type=http', type: 'MEM', mess: 'MEM: Another for the same worker already exist' },
];

/** Every refusal starts from a small registered cluster: node n0 with one enabled context and a load. */
async function baseline(h: Harness): Promise<void> {
  await h.ok('CONFIG', 'JVMRoute=n0&Host=127.0.0.1&Port=9000&Type=http');
  await h.ok('ENABLE-APP', 'JVMRoute=n0&Alias=localhost&Context=/app');
  h.counters.applyLoad(0, 42, 1);
}

for (const c of CASES) {
  test(`${c.id}: ${c.label} → ${c.type} "${c.mess}", tables unchanged`, async () => {
    const h = new Harness({ directives: [['EnableOptions', 'Off'], ...(c.directives ?? [])] });
    await baseline(h);
    await c.setup?.(h);
    const dumpBefore = await h.dump();
    const infoBefore = await h.info();
    const commitsBefore = h.state.commits;
    const reply = await h.send(c.method, c.body ?? '', { target: c.target, tooLarge: c.tooLarge });
    assert.equal(reply.status, 500);
    assert.equal(header(reply, 'Version'), '0.2.1');
    assert.equal(header(reply, 'Type'), c.type);
    assert.equal(header(reply, 'Mess'), c.mess);
    assert.ok(reply.body.length > 0, 'error replies carry a short body (D15)');
    assert.equal(await h.dump(), dumpBefore);
    assert.equal(await h.info(), infoBefore);
    assert.equal(h.state.commits, commitsBefore, 'nothing was published');
  });
}

test('the catalogue has one test case or more per entry that a request can produce', () => {
  const covered = new Set(CASES.map((c) => c.id));
  // SREADER belongs to the listener (a body that cannot be read); MHOSTUI/MCONTUI are partial
  // CONFIG failures that change the tables and are tested in config.test.ts.
  const elsewhere = new Set(['SREADER', 'MHOSTUI', 'MCONTUI']);
  for (const id of Object.keys(MCMP_ERRORS)) {
    assert.ok(covered.has(id as keyof typeof MCMP_ERRORS) || elsewhere.has(id), `no case for ${id}`);
  }
});

test('SREADER names the method', () => {
  const e = new McmpError('SREADER', 'CONFIG');
  assert.equal(e.type, 'SYNTAX');
  assert.equal(e.mess, "SYNTAX: CONFIG can't read POST data");
});

test('McmpError.joined is GENERAL and joins the messages with ", "', () => {
  const e = McmpError.joined([new McmpError('MHOSTUI', 'n', 'a'), new McmpError('MCONTUI', 'n', '/c', 'b')]);
  assert.equal(e.type, 'GENERAL');
  assert.equal(e.mess, 'MEM: Can\'t update or insert host alias for node with "n" JVMRoute (a), MEM: Can\'t update or insert context for node with "n" JVMRoute (/c and alias: b)');
  assert.equal(e.message, e.mess);
});

test('a route that is not latin1 is sent as ? in the Mess header', async () => {
  const h = new Harness();
  const reply = await h.send('STATUS', 'JVMRoute=%E2%82%AC');
  assert.equal(header(reply, 'Mess'), 'MEM: Can\'t read node with "?" JVMRoute');
  assert.match(reply.body, /€/);
});
