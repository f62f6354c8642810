// Headless Chromium (Debian's `chromium`) for the tests that need a real
// browser: a throw-away HOME whose NSS database trusts exactly the test CA
// (certutil, libnss3-tools) and may hold a client certificate (pk12util), a
// profile that picks that certificate without a dialog, and one run that
// dumps the DOM and takes a screenshot. Nothing is trusted blindly: no
// --ignore-certificate-errors. No tests here.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

const BROWSERS = ['chromium', 'chromium-browser'];

function onPath(name: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' }).status === 0;
}

/** The Chromium command, or undefined when none is installed. */
export const CHROMIUM = BROWSERS.find(onPath);

/** Why the browser tests cannot run here (the fix included), or false when they can. */
export function chromiumMissing(): string | false {
  if (CHROMIUM === undefined) return 'chromium not installed (apt-get install chromium)';
  for (const tool of ['certutil', 'pk12util']) {
    if (!onPath(tool)) return `${tool} not installed (apt-get install libnss3-tools): the browser's NSS database is made with it`;
  }
  return false;
}

/** Where tests leave files worth looking at (git-ignored; MCMP_EDGE_TEST_ARTIFACTS moves it). */
export function artifactDir(name: string): string {
  const root = process.env['MCMP_EDGE_TEST_ARTIFACTS'] ?? path.resolve(__dirname, '../../../test-artifacts');
  const dir = path.join(root, name);
  fs.mkdirSync(dir, { recursive: true });
  return dir;
}

export interface BrowserIdentity {
  /** PEM file of the CA the browser trusts for servers (and nothing else besides Chromium's built-in roots). */
  readonly trustCa?: string;
  /** A client certificate and key (PEM) the browser presents when asked. */
  readonly clientCert?: { readonly cert: string; readonly key: string; readonly issuerCn: string };
  /** Origins (https://host:port) where that certificate is chosen without a dialog. */
  readonly autoSelectFor?: readonly string[];
}

export interface BrowserProfile {
  readonly home: string;
  remove(): void;
}

/**
 * A HOME with `.pki/nssdb` (Chromium's certificate store on Linux) and a
 * profile directory. The client certificate is chosen through the per-origin
 * "auto_select_certificate" content setting (what the AutoSelectCertificateForUrls
 * policy sets), because headless Chromium cannot show the picker.
 */
export function makeBrowserProfile(id: BrowserIdentity): BrowserProfile {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'mcmp-edge-chromium-'));
  const db = `sql:${path.join(home, '.pki', 'nssdb')}`;
  fs.mkdirSync(path.join(home, '.pki', 'nssdb'), { recursive: true });
  const run = (cmd: string, args: string[]): void => {
    execFileSync(cmd, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  };
  run('certutil', ['-N', '-d', db, '--empty-password']);
  // "C,,": a CA trusted to issue server certificates, nothing more.
  if (id.trustCa !== undefined) run('certutil', ['-A', '-d', db, '-n', 'mcmp-edge test CA', '-t', 'C,,', '-i', id.trustCa]);
  if (id.clientCert !== undefined) {
    const p12 = path.join(home, 'client.p12');
    run('openssl', ['pkcs12', '-export', '-in', id.clientCert.cert, '-inkey', id.clientCert.key, '-out', p12, '-passout', 'pass:', '-name', 'operator']);
    run('pk12util', ['-d', db, '-i', p12, '-W', '']);
  }
  const profile = path.join(home, 'profile', 'Default');
  fs.mkdirSync(profile, { recursive: true });
  if (id.clientCert !== undefined && id.autoSelectFor !== undefined) {
    const filter = { filters: [{ ISSUER: { CN: id.clientCert.issuerCn } }] };
    const exceptions = Object.fromEntries(id.autoSelectFor.map((origin) => [`${origin},*`, { setting: filter }]));
    fs.writeFileSync(path.join(profile, 'Preferences'), JSON.stringify({ profile: { content_settings: { exceptions: { auto_select_certificate: exceptions } } } }));
  }
  return { home, remove: () => fs.rmSync(home, { recursive: true, force: true }) };
}

export interface PageShot {
  /** The DOM after load (empty when the page did not load). */
  readonly dom: string;
  /** Chromium's stderr (its reason when the page did not load). */
  readonly log: string;
  /** The screenshot file, when one was asked for and written. */
  readonly screenshot: string | undefined;
}

/** Loads `url` once in headless Chromium: the DOM on stdout and, with `screenshot`, a PNG. */
export function loadPage(profile: BrowserProfile, url: string, opts: { screenshot?: string; timeoutMs?: number } = {}): Promise<PageShot> {
  const args = [
    '--headless',
    '--disable-gpu',
    '--no-first-run',
    '--disable-extensions',
    '--disable-background-networking',
    `--user-data-dir=${path.join(profile.home, 'profile')}`,
    '--window-size=1280,900',
    ...(process.getuid?.() === 0 ? ['--no-sandbox'] : []),
    ...(opts.screenshot !== undefined ? [`--screenshot=${opts.screenshot}`] : []),
    '--dump-dom',
    url,
  ];
  // Its own process group, so that the zygote and renderers go with it on a timeout.
  const child = spawn(CHROMIUM as string, args, { env: { ...process.env, HOME: profile.home }, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  let dom = '';
  let log = '';
  child.stdout.on('data', (d: Buffer) => (dom += d.toString('utf8')));
  child.stderr.on('data', (d: Buffer) => (log += d.toString('utf8')));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => {
      try {
        process.kill(-(child.pid as number), 'SIGKILL');
      } catch {
        // Already gone.
      }
      reject(new Error(`chromium did not finish loading ${url} within ${opts.timeoutMs ?? 90_000} ms; stderr: ${log.slice(-1500)}`));
    }, opts.timeoutMs ?? 90_000);
    child.once('error', (err) => {
      clearTimeout(timer);
      reject(err);
    });
    // 'close', not 'exit': the DOM on stdout is complete only then.
    child.once('close', () => {
      clearTimeout(timer);
      try {
        process.kill(-(child.pid as number), 'SIGKILL');
      } catch {
        // The group ended with it.
      }
      const shot = opts.screenshot !== undefined && fs.existsSync(opts.screenshot) ? opts.screenshot : undefined;
      resolve({ dom, log, screenshot: shot });
    });
  });
}
