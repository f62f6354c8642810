// A fake AJP13 container on loopback for the paths a real Tomcat will not
// produce on demand (malformed and oversized packets, resets, stalls). It
// speaks the real bytes: the packets it sends come from the captures
// (captures.ts) or are built here with the same framing. Each connection runs
// a script that reads the proxy's packets and answers.
import net from 'node:net';

export interface FakeConnection {
  readonly id: number;
  /** The next whole packet the proxy sent (header included); rejects when the connection ends first or after timeoutMs. */
  next(timeoutMs?: number): Promise<Buffer>;
  send(...packets: Buffer[]): void;
  end(): void;
  destroy(): void;
  /** Resolves when the socket is closed (by either side). */
  readonly closed: Promise<void>;
  readonly isClosed: boolean;
}

export type Script = (conn: FakeConnection) => Promise<void> | void;

export interface FakeContainer {
  readonly port: number;
  /** Every connection accepted, in order. */
  readonly connections: FakeConnection[];
  /** Errors thrown by scripts (a failed expectation inside the fake). */
  readonly errors: Error[];
  /** The script run for connections accepted from now on. */
  setScript(script: Script): void;
  close(): Promise<void>;
}

export async function startFakeContainer(script: Script): Promise<FakeContainer> {
  let current = script;
  const connections: FakeConnection[] = [];
  const errors: Error[] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    const conn = wrap(socket, connections.length + 1);
    connections.push(conn);
    Promise.resolve()
      .then(() => current(conn))
      .catch((err: unknown) => {
        if (!conn.isClosed) errors.push(err instanceof Error ? err : new Error(String(err)));
      });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    connections,
    errors,
    setScript: (s) => {
      current = s;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        server.close(() => resolve());
      }),
  };
}

function wrap(socket: net.Socket, id: number): FakeConnection {
  let buffered = Buffer.alloc(0);
  let waiter: { resolve: (b: Buffer) => void; reject: (e: Error) => void } | null = null;
  let isClosed = false;
  const closed = new Promise<void>((resolve) => socket.once('close', () => resolve()));
  socket.on('error', () => undefined);
  const take = (): Buffer | null => {
    if (buffered.length < 4) return null;
    const n = buffered.readUInt16BE(2);
    if (buffered.length < 4 + n) return null;
    const packet = buffered.subarray(0, 4 + n);
    buffered = buffered.subarray(4 + n);
    return packet;
  };
  socket.on('data', (d: Buffer) => {
    buffered = Buffer.concat([buffered, d]);
    if (waiter === null) return;
    const p = take();
    if (p !== null) {
      const w = waiter;
      waiter = null;
      w.resolve(p);
    }
  });
  socket.once('close', () => {
    isClosed = true;
    if (waiter !== null) {
      const w = waiter;
      waiter = null;
      w.reject(new Error(`fake connection ${id} closed while waiting for a packet`));
    }
  });
  return {
    id,
    closed,
    get isClosed() {
      return isClosed;
    },
    next: (timeoutMs = 10_000) => {
      const p = take();
      if (p !== null) return Promise.resolve(p);
      if (isClosed) return Promise.reject(new Error(`fake connection ${id} is closed`));
      return new Promise<Buffer>((resolve, reject) => {
        const timer = setTimeout(() => {
          waiter = null;
          reject(new Error(`no packet on fake connection ${id} within ${timeoutMs} ms`));
        }, timeoutMs);
        waiter = {
          resolve: (b) => {
            clearTimeout(timer);
            resolve(b);
          },
          reject: (e) => {
            clearTimeout(timer);
            reject(e);
          },
        };
      });
    },
    send: (...packets) => {
      if (!isClosed) socket.write(Buffer.concat(packets));
    },
    end: () => socket.end(),
    destroy: () => socket.destroy(),
  };
}

// ------------------------------------------------- packets the fake builds

/** A container packet (41 42 + length) around `payload`. */
export function containerPacket(payload: Buffer): Buffer {
  const head = Buffer.from([0x41, 0x42, 0, 0]);
  head.writeUInt16BE(payload.length, 2);
  return Buffer.concat([head, payload]);
}

function ajpString(s: string): Buffer {
  const b = Buffer.from(s, 'latin1');
  const len = Buffer.alloc(2);
  len.writeUInt16BE(b.length);
  return Buffer.concat([len, b, Buffer.from([0])]);
}

/** SEND_HEADERS with string header names (Tomcat's form for names it does not code). */
export function sendHeaders(status: number, headers: Array<[string, string]>, reason = String(status)): Buffer {
  const parts = [Buffer.from([0x04, status >> 8, status & 0xff]), ajpString(reason), Buffer.from([headers.length >> 8, headers.length & 0xff])];
  for (const [name, value] of headers) parts.push(ajpString(name), ajpString(value));
  return containerPacket(Buffer.concat(parts));
}

/** SEND_BODY_CHUNK as Tomcat writes it (length, bytes, trailing 0x00). */
export function sendBodyChunk(data: Buffer): Buffer {
  const len = Buffer.alloc(2);
  len.writeUInt16BE(data.length);
  return containerPacket(Buffer.concat([Buffer.from([0x03]), len, data, Buffer.from([0])]));
}

export const END_KEEP = Buffer.from([0x41, 0x42, 0x00, 0x02, 0x05, 0x01]);
export const END_CLOSE = Buffer.from([0x41, 0x42, 0x00, 0x02, 0x05, 0x00]);
export const CPONG = Buffer.from([0x41, 0x42, 0x00, 0x01, 0x09]);

/** GET_BODY_CHUNK asking for n bytes. */
export function getBodyChunk(n: number): Buffer {
  return containerPacket(Buffer.from([0x06, n >> 8, n & 0xff]));
}

// ------------------------------------------- reading the proxy's packets

export function isCping(packet: Buffer): boolean {
  return packet.length === 5 && packet[4] === 0x0a;
}

/** The body bytes of a data packet (12 34 len, int16 n, n bytes). */
export function dataOf(packet: Buffer): Buffer {
  const n = packet.readUInt16BE(4);
  if (packet.length !== 6 + n) throw new Error(`data packet length ${n} disagrees with the packet (${packet.length})`);
  return packet.subarray(6, 6 + n);
}

export interface DecodedForward {
  method: number;
  protocol: string;
  uri: string;
  remoteAddr: string;
  remoteHost: string | null;
  serverName: string;
  serverPort: number;
  isSsl: boolean;
  /** Names: coded ones as 0xA0xx hex (`a00b`), others as sent. */
  headers: Array<[string, string]>;
  /** Attribute code → values (0x0A: "name=value"). */
  attributes: Map<number, string[]>;
}

/** Decodes a FORWARD_REQUEST the proxy sent (the fake's side of AJP.md §2). */
export function decodeForward(packet: Buffer): DecodedForward {
  let pos = 4;
  if (packet[pos++] !== 0x02) throw new Error('not a FORWARD_REQUEST');
  const byte = (): number => packet[pos++] as number;
  const int16 = (): number => {
    const v = packet.readUInt16BE(pos);
    pos += 2;
    return v;
  };
  const str = (): string | null => {
    const n = int16();
    if (n === 0xffff) return null;
    const s = packet.toString('latin1', pos, pos + n);
    if (packet[pos + n] !== 0) throw new Error('string without its terminator');
    pos += n + 1;
    return s;
  };
  const method = byte();
  const protocol = str() ?? '';
  const uri = str() ?? '';
  const remoteAddr = str() ?? '';
  const remoteHost = str();
  const serverName = str() ?? '';
  const serverPort = int16();
  const isSsl = byte() !== 0;
  const count = int16();
  const headers: Array<[string, string]> = [];
  for (let i = 0; i < count; i++) {
    let name: string;
    if (packet[pos] === 0xa0) name = packet.toString('hex', pos, (pos += 2));
    else name = str() ?? '';
    headers.push([name, str() ?? '']);
  }
  const attributes = new Map<number, string[]>();
  for (;;) {
    const code = byte();
    if (code === 0xff) break;
    const value = code === 0x0a ? `${str()}=${str()}` : code === 0x0b ? String(int16()) : (str() ?? '');
    attributes.set(code, [...(attributes.get(code) ?? []), value]);
  }
  if (pos !== packet.length) throw new Error(`FORWARD_REQUEST has ${packet.length - pos} bytes after the terminator`);
  return { method, protocol, uri, remoteAddr, remoteHost, serverName, serverPort, isSsl, headers, attributes };
}
