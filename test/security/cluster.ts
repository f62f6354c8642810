// The cluster the security tests attack: the real mcmp-edge process with one
// recording node registered over MCMP for /app (ENABLED) and /stopped
// (STOPPED), aliases localhost and 127.0.0.1, WebSocket tunnelling on. Also
// the container's view of a forwarded target, used as the oracle for "only
// ENABLED contexts reach a node". No tests here.
import assert from 'node:assert/strict';
import { mcmpRequest, sendRaw } from '../helpers/raw-http';
import { startProxy, type ProxyProcess } from '../helpers/proxy-process';
import { RecordingNode } from './recording-node';

export interface Cluster {
  proxy: ProxyProcess;
  node: RecordingNode;
  close(): Promise<void>;
}

async function mcmp(proxy: ProxyProcess, method: string, body: string): Promise<void> {
  const { responses } = await sendRaw(proxy.managerPort, mcmpRequest(method, body), { expect: 1, timeoutMs: 10_000 });
  assert.equal(responses[0]?.status, 200, `${method} ${body}: ${responses[0]?.body.toString() ?? 'no reply'}`);
}

export async function startCluster(extraArgs: string[] = []): Promise<Cluster> {
  const node = await new RecordingNode().start();
  const proxy = await startProxy(['--threads', '2', '--log-level', 'warn', '--set', 'WSUpgradeHeader=websocket', '--set', 'EnableOptions=Off', ...extraArgs]);
  await mcmp(proxy, 'CONFIG', `JVMRoute=node1&Host=127.0.0.1&Port=${node.port}&Type=http`);
  await mcmp(proxy, 'ENABLE-APP', 'JVMRoute=node1&Alias=localhost,127.0.0.1&Context=/app');
  await mcmp(proxy, 'ENABLE-APP', 'JVMRoute=node1&Alias=localhost,127.0.0.1&Context=/stopped');
  await mcmp(proxy, 'STOP-APP', 'JVMRoute=node1&Alias=localhost,127.0.0.1&Context=/stopped');
  await mcmp(proxy, 'STATUS', 'JVMRoute=node1&Load=100');
  return {
    proxy,
    node,
    close: async () => {
      await proxy.stop('SIGKILL');
      await node.close();
    },
  };
}

/** Bytes as a Java decoder without overlong checks would read them (the most lenient reading a node may have). */
function lenientUtf8(bytes: number[]): string {
  let out = '';
  for (let i = 0; i < bytes.length; i++) {
    const b = bytes[i] as number;
    if (b < 0x80) out += String.fromCharCode(b);
    else if (b >= 0xc0 && b < 0xe0 && i + 1 < bytes.length) out += String.fromCharCode(((b & 0x1f) << 6) | ((bytes[++i] as number) & 0x3f));
    else if (b >= 0xe0 && b < 0xf0 && i + 2 < bytes.length) {
      out += String.fromCharCode(((b & 0x0f) << 12) | (((bytes[i + 1] as number) & 0x3f) << 6) | ((bytes[i + 2] as number) & 0x3f));
      i += 2;
    } else out += '\ufffd';
  }
  return out;
}

/**
 * The path a Java container serves for a request target, read as permissively
 * as any container setting allows: path parameters dropped per segment, every
 * escape decoded (%2F and %5C too: Tomcat's encodedSolidusHandling=decode,
 * allowBackslash=true), overlong UTF-8 accepted, "\" as "/", slashes merged,
 * dot-segments removed. null: the container refuses it (climbs above /).
 */
export function containerView(target: string): string | null {
  const raw = target.split('?')[0] as string;
  const noParams = raw
    .split('/')
    .map((s) => s.split(';')[0])
    .join('/');
  const bytes: number[] = [];
  for (let i = 0; i < noParams.length; i++) {
    if (noParams[i] === '%' && /^[0-9A-Fa-f]{2}$/.test(noParams.slice(i + 1, i + 3))) {
      bytes.push(parseInt(noParams.slice(i + 1, i + 3), 16));
      i += 2;
    } else {
      for (const b of Buffer.from(noParams[i] as string, 'utf8')) bytes.push(b);
    }
  }
  const decoded = lenientUtf8(bytes).replace(/\\/g, '/');
  const out: string[] = [];
  const segments = decoded.split('/');
  for (let i = 1; i < segments.length; i++) {
    const seg = segments[i] as string;
    if (seg === '' || seg === '.') continue;
    if (seg === '..') {
      if (out.pop() === undefined) return null;
      continue;
    }
    out.push(seg);
  }
  return `/${out.join('/')}`;
}

/** Whether a container would serve `target` from the /app context. */
export function insideApp(target: string): boolean {
  const view = containerView(target);
  return view === null || view === '/app' || view.startsWith('/app/');
}
