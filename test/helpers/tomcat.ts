// A real Tomcat (Debian's tomcat10, Tomcat 10.1) for the tests, started from
// a throw-away CATALINA_BASE: one HTTP connector, one AJP connector without a
// secret (secretRequired="false") and one that requires AJP_SECRET, all on
// loopback ports picked free, and the echo webapp (tomcat/EchoServlet.java,
// compiled once per machine) deployed as /demo. Start it once per test file:
// a JVM takes seconds to start on a loaded machine.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

export const CATALINA_HOME = process.env['CATALINA_HOME'] ?? '/usr/share/tomcat10';
/** The secret of the connector that requires one. */
export const AJP_SECRET = 's3cret-for-tests';
/** The webapp's context path. */
export const CONTEXT = '/demo';

const SERVLET_SOURCE = path.resolve(__dirname, '../../../test/helpers/tomcat/EchoServlet.java');
const START_TIMEOUT_MS = 120_000;

/** Why Tomcat tests cannot run here, or null when they can. */
export function tomcatMissing(): string | null {
  if (!fs.existsSync(path.join(CATALINA_HOME, 'bin', 'bootstrap.jar'))) return `Tomcat not found in ${CATALINA_HOME}: install the Debian package tomcat10 (apt-get install tomcat10)`;
  for (const tool of ['java', 'javac']) {
    if (spawnSync(tool, ['-version'], { stdio: 'ignore' }).status !== 0) return `${tool} not found: install tomcat10 (it brings a JDK runtime) and default-jdk-headless`;
  }
  if (!fs.existsSync(SERVLET_SOURCE)) return `the echo servlet source is missing (${SERVLET_SOURCE})`;
  return null;
}

export interface TomcatOptions {
  /** JVM heap and flags for a long run (the bench); the tests' defaults start faster. */
  readonly jvmArgs?: readonly string[];
  /** Engine jvmRoute (the session-id suffix). */
  readonly jvmRoute?: string;
  /** AJP connectors' packetSize (default 8192). */
  readonly packetSize?: number;
}

export interface Tomcat {
  readonly httpPort: number;
  /** AJP connector with secretRequired="false" and no secret. */
  readonly ajpPort: number;
  /** AJP connector with secretRequired="true" secret=AJP_SECRET. */
  readonly ajpSecretPort: number;
  readonly jvmRoute: string;
  readonly base: string;
  /** The JVM's process id (the bench measures its CPU). */
  readonly pid: number;
  /** Everything the JVM wrote (stdout + stderr). */
  output(): string;
  /** Stops the JVM (SIGKILL after a grace period) and removes CATALINA_BASE. */
  stop(): Promise<void>;
  /** Kills the JVM at once (a node that dies). */
  kill(): void;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as net.AddressInfo).port;
      server.close(() => resolve(port));
    });
  });
}

/** Compiles the servlet once per source version into the temp directory; returns the classes directory. */
function compiledServlet(): string {
  const source = fs.readFileSync(SERVLET_SOURCE);
  const digest = crypto.createHash('sha256').update(source).digest('hex').slice(0, 16);
  const dir = path.join(os.tmpdir(), `mcmp-edge-echo-servlet-${digest}`);
  if (fs.existsSync(path.join(dir, 'EchoServlet.class'))) return dir;
  const building = `${dir}.${process.pid}`;
  fs.mkdirSync(building, { recursive: true });
  const result = spawnSync('javac', ['-nowarn', '-cp', path.join(CATALINA_HOME, 'lib', 'servlet-api.jar'), '-d', building, SERVLET_SOURCE], { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`javac failed: ${result.stderr}`);
  try {
    fs.renameSync(building, dir);
  } catch {
    // Another test file compiled it at the same time.
    fs.rmSync(building, { recursive: true, force: true });
  }
  return dir;
}

const WEB_XML = `<?xml version="1.0" encoding="UTF-8"?>
<web-app xmlns="https://jakarta.ee/xml/ns/jakartaee" version="6.0" metadata-complete="true">
  <servlet><servlet-name>echo</servlet-name><servlet-class>EchoServlet</servlet-class></servlet>
  <servlet-mapping><servlet-name>echo</servlet-name><url-pattern>/*</url-pattern></servlet-mapping>
</web-app>
`;

export async function startTomcat(options: TomcatOptions = {}): Promise<Tomcat> {
  const jvmRoute = options.jvmRoute ?? 'tc1';
  const packetSize = options.packetSize ?? 8192;
  const classes = compiledServlet();
  const base = fs.mkdtempSync(path.join(os.tmpdir(), 'mcmp-edge-tomcat-'));
  for (const d of ['conf', 'logs', 'temp', 'work', 'webapps/demo/WEB-INF/classes']) fs.mkdirSync(path.join(base, d), { recursive: true });
  fs.copyFileSync(path.join(classes, 'EchoServlet.class'), path.join(base, 'webapps/demo/WEB-INF/classes/EchoServlet.class'));
  fs.writeFileSync(path.join(base, 'webapps/demo/WEB-INF/web.xml'), WEB_XML);
  const defaultWebXml = [path.join(CATALINA_HOME, 'etc', 'web.xml'), '/etc/tomcat10/web.xml'].find((p) => fs.existsSync(p));
  if (defaultWebXml !== undefined) fs.copyFileSync(defaultWebXml, path.join(base, 'conf', 'web.xml'));
  // No jar scanning: a faster start (the webapp has no TLDs nor fragments).
  fs.writeFileSync(
    path.join(base, 'conf', 'catalina.properties'),
    [
      'common.loader="${catalina.base}/lib","${catalina.base}/lib/*.jar","${catalina.home}/lib","${catalina.home}/lib/*.jar"',
      'tomcat.util.scan.StandardJarScanFilter.jarsToSkip=*.jar',
      '',
    ].join('\n'),
  );
  const [httpPort, ajpPort, ajpSecretPort] = [await freePort(), await freePort(), await freePort()];
  const ajp = `address="127.0.0.1" protocol="AJP/1.3" packetSize="${packetSize}"`;
  fs.writeFileSync(
    path.join(base, 'conf', 'server.xml'),
    `<?xml version="1.0" encoding="UTF-8"?>
<Server port="-1" shutdown="SHUTDOWN">
  <Service name="Catalina">
    <Connector port="${httpPort}" address="127.0.0.1" protocol="HTTP/1.1" />
    <Connector port="${ajpPort}" ${ajp} secretRequired="false" />
    <Connector port="${ajpSecretPort}" ${ajp} secretRequired="true" secret="${AJP_SECRET}" />
    <Engine name="Catalina" defaultHost="localhost" jvmRoute="${jvmRoute}">
      <Host name="localhost" appBase="webapps" unpackWARs="false" autoDeploy="false" />
    </Engine>
  </Service>
</Server>
`,
  );
  const child: ChildProcess = spawn(
    'java',
    [
      ...(options.jvmArgs ?? ['-Xmx384m', '-XX:+UseSerialGC']),
      '-Xshare:auto',
      `-Decho.route=${jvmRoute}`,
      `-Dcatalina.home=${CATALINA_HOME}`,
      `-Dcatalina.base=${base}`,
      `-Djava.io.tmpdir=${path.join(base, 'temp')}`,
      '-cp',
      [path.join(CATALINA_HOME, 'bin', 'bootstrap.jar'), path.join(CATALINA_HOME, 'bin', 'tomcat-juli.jar')].join(':'),
      'org.apache.catalina.startup.Bootstrap',
      'start',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let output = '';
  child.stdout?.on('data', (d: Buffer) => (output += d.toString('utf8')));
  child.stderr?.on('data', (d: Buffer) => (output += d.toString('utf8')));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const cleanup = (): void => fs.rmSync(base, { recursive: true, force: true });

  await new Promise<void>((resolve, reject) => {
    const deadline = Date.now() + START_TIMEOUT_MS;
    const poll = setInterval(() => {
      if (/Server startup in/.test(output)) {
        clearInterval(poll);
        resolve();
      } else if (child.exitCode !== null || Date.now() > deadline) {
        clearInterval(poll);
        child.kill('SIGKILL');
        cleanup();
        reject(new Error(`Tomcat did not start (exit ${child.exitCode}); output:\n${output.slice(-3000)}`));
      }
    }, 100);
  });

  return {
    httpPort,
    ajpPort,
    ajpSecretPort,
    jvmRoute,
    base,
    pid: child.pid as number,
    output: () => output,
    kill: () => {
      if (child.exitCode === null) child.kill('SIGKILL');
    },
    stop: async () => {
      if (child.exitCode === null && child.signalCode === null) {
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
        await exited;
        clearTimeout(timer);
      }
      cleanup();
    },
  };
}
