// MCMP as the Java worker speaks it (MCMP.md §1.7): raw HTTP/1.1 requests on
// one persistent connection, one at a time.
import { mcmpRequest } from '../../test/helpers/raw-http';
import { KeepAliveConnection, LOOPBACK } from './net';

export class McmpCallError extends Error {
  readonly code = 'ERR_BENCH_MCMP';
  constructor(message: string) {
    super(message);
    this.name = 'McmpCallError';
  }
}

export interface McmpAnswer {
  readonly status: number;
  readonly body: string;
  /** The Mess header of an error reply, '' otherwise. */
  readonly mess: string;
}

export class McmpConnection {
  readonly #conn: KeepAliveConnection;

  private constructor(conn: KeepAliveConnection) {
    this.#conn = conn;
  }

  static async open(managerPort: number): Promise<McmpConnection> {
    const conn = new KeepAliveConnection(managerPort);
    await conn.ready;
    return new McmpConnection(conn);
  }

  async call(method: string, body: string, target = '/', timeoutMs = 5000): Promise<McmpAnswer> {
    const r = await this.#conn.request(mcmpRequest(method, body, target, []), timeoutMs);
    return { status: r.status, body: r.body.toString('latin1'), mess: r.headers['mess'] ?? '' };
  }

  /** Like call() but any non-200 answer is an error naming the message. */
  async expectOk(method: string, body: string, target = '/'): Promise<McmpAnswer> {
    const a = await this.call(method, body, target);
    if (a.status !== 200) throw new McmpCallError(`${method} ${body} -> ${a.status}${a.mess !== '' ? ` (${a.mess})` : ''}`);
    return a;
  }

  close(): void {
    this.#conn.close();
  }
}

export interface NodeRegistration {
  readonly route: string;
  readonly port: number;
  readonly contexts: readonly string[];
  readonly aliases?: string;
  /** CONFIG Type (default http). */
  readonly type?: 'http' | 'ajp';
}

/** CONFIG, ENABLE-APP per context, then STATUS Load=100, as a Tomcat does at start; STATUS must say State=OK. */
export async function registerNode(mcmp: McmpConnection, n: NodeRegistration): Promise<void> {
  const aliases = n.aliases ?? `localhost,${LOOPBACK}`;
  await mcmp.expectOk('CONFIG', `JVMRoute=${n.route}&Host=${LOOPBACK}&Port=${n.port}&Type=${n.type ?? 'http'}`);
  for (const ctx of n.contexts) await mcmp.expectOk('ENABLE-APP', `JVMRoute=${n.route}&Alias=${aliases}&Context=${ctx}`);
  const st = await mcmp.expectOk('STATUS', `JVMRoute=${n.route}&Load=100`);
  if (!st.body.includes('State=OK')) throw new McmpCallError(`STATUS for ${n.route} did not answer State=OK: ${JSON.stringify(st.body)}`);
}
