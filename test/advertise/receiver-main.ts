// Run inside a test's network namespace: joins an advertise group and prints
// every datagram as one JSON line (arrival time, sender, bytes in base64).
// Argument: GROUP:PORT. The first line says it is listening.
import dgram from 'node:dgram';

const [group, port] = (process.argv[2] ?? '224.0.1.105:23364').split(':') as [string, string];
const socket = dgram.createSocket({ type: 'udp4', reuseAddr: true });
socket.on('message', (msg, rinfo) => {
  process.stdout.write(`${JSON.stringify({ event: 'datagram', t: Date.now(), from: `${rinfo.address}:${rinfo.port}`, data: msg.toString('base64') })}\n`);
});
socket.bind(Number(port), () => {
  socket.addMembership(group, '127.0.0.1');
  process.stdout.write(`${JSON.stringify({ event: 'listening' })}\n`);
});
process.on('SIGTERM', () => socket.close(() => process.exit(0)));
