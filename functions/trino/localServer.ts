/**
 * A local single-node Trino for development and tests: download (Maven Central, via `mvn`),
 * configure, start, stop and report on it. Everything lives under `<repo>/.cache/trino/`:
 *
 *   downloads/   trino-server-core-476.tar.gz, trino-hive-476.zip (kept, so a fresh extract needs no network)
 *   server-476/  the extracted server with the Hive plugin in plugin/hive (only renamed into place when complete)
 *   etc/         generated configuration (rewritten on every start)
 *   var/         node data dir; logs in var/log/server.log (Trino) and var/log/launcher.log (JVM stdout/stderr)
 *   warehouse/   root of the `hive` catalog: `local:///x/y` in Trino is `warehouse/x/y` on disk
 *   state.json   pid, port, url, warehouseDir and version of the server this code started
 *   leases/      one file per process (test run) using a server it may stop (see releaseLocalTrino)
 *   start.lock   held while a start is under way, so that concurrent starts wait for each other
 *
 * The server is a plain `java ... io.trino.server.TrinoServer` child process (Java 24+, found by
 * findJava), detached so that it outlives the CLI or test run that started it, listening on
 * 127.0.0.1 only, session time zone UTC; it is stopped by its recorded PID. It counts as started
 * once /v1/info says starting:false and a query has run on its (only) worker node.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import {
  closeSync,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  realpathSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  writeFileSync,
  writeSync,
} from 'node:fs';
import { createServer } from 'node:net';
import { delimiter, dirname, join, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { inflateRawSync } from 'node:zlib';

export const TRINO_VERSION = '476';
export const LOCAL_TRINO_CATALOG = 'hive';
/** The oldest Java major version TRINO_VERSION runs on. */
export const TRINO_MIN_JAVA = 24;

export interface LocalTrino {
  url: string;
  catalog: string;
  warehouseDir: string;
  pid: number;
  version: string;
}

/** A prerequisite is missing (Java 24+, Maven) or the download/extraction failed; the message is one line. */
export class TrinoSetupError extends Error {
  override name = 'TrinoSetupError';
}

/** The server process was started but died or did not answer in time; the message ends with its last log lines. */
export class TrinoStartError extends Error {
  override name = 'TrinoStartError';
}

const DEFAULT_TIMEOUT_MS = 120_000;
const STOP_GRACE_MS = 30_000;
const MAIN_CLASS = 'io.trino.server.TrinoServer';
const ARTIFACTS = [
  { coords: `io.trino:trino-server-core:${TRINO_VERSION}:tar.gz`, file: `trino-server-core-${TRINO_VERSION}.tar.gz` },
  { coords: `io.trino:trino-hive:${TRINO_VERSION}:zip`, file: `trino-hive-${TRINO_VERSION}.zip` },
] as const;

// ---------------------------------------------------------------------------------------------
// Paths and state
// ---------------------------------------------------------------------------------------------

/** `<repo>/.cache/trino`, resolved from this module's location (functions/trino/), not the cwd. */
export function localTrinoHome(): string {
  return resolve(fileURLToPath(new URL('../../', import.meta.url)), '.cache', 'trino');
}

function paths(home = localTrinoHome()) {
  const varDir = join(home, 'var');
  return {
    home,
    downloads: join(home, 'downloads'),
    server: join(home, `server-${TRINO_VERSION}`),
    etc: join(home, 'etc'),
    varDir,
    logDir: join(varDir, 'log'),
    serverLog: join(varDir, 'log', 'server.log'),
    launcherLog: join(varDir, 'log', 'launcher.log'),
    warehouse: join(home, 'warehouse'),
    state: join(home, 'state.json'),
    lock: join(home, 'start.lock'),
    leases: join(home, 'leases'),
  };
}

interface TrinoState extends LocalTrino {
  port: number;
  java: string;
  startedAt: string;
  /** Started by a leasing caller (a test run): stopped when the last lease is released. */
  ephemeral?: boolean;
}

function writeState(file: string, state: TrinoState): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(tmp, file);
}

function readState(file: string): TrinoState | null {
  try {
    const s = JSON.parse(readFileSync(file, 'utf8')) as Partial<TrinoState>;
    return typeof s.pid === 'number' && typeof s.url === 'string' ? (s as TrinoState) : null;
  } catch {
    return null;
  }
}

// ---------------------------------------------------------------------------------------------
// Java discovery
// ---------------------------------------------------------------------------------------------

export interface FindJavaOptions {
  /** Environment to read TRINO_JAVA_HOME, JAVA_HOME and PATH from (default: process.env). */
  env?: NodeJS.ProcessEnv;
  /** Parent folders whose children are JDK homes (default: the platform's standard ones). */
  scanDirs?: string[];
}

export interface FoundJava {
  /** The java executable to run. */
  java: string;
  major: number;
  /** Where it was found, e.g. "TRINO_JAVA_HOME", "JAVA_HOME", "PATH", "/usr/lib/jvm/jdk-25". */
  source: string;
}

/** The standard parents of JDK homes: /usr/lib/jvm on Linux, /Library/Java/JavaVirtualMachines on macOS. */
export function defaultJdkScanDirs(platform: NodeJS.Platform = process.platform): string[] {
  if (platform === 'darwin') return ['/Library/Java/JavaVirtualMachines'];
  if (platform === 'win32') return [];
  return ['/usr/lib/jvm'];
}

/** "25.0.3" → 25, "1.8.0_392" → 8, "24-ea" → 24. */
export function parseJavaMajor(version: string): number | null {
  const m = /^(\d+)(?:\.(\d+))?/.exec(version.trim());
  if (!m) return null;
  const first = Number(m[1]);
  return first === 1 && m[2] !== undefined ? Number(m[2]) : first;
}

/** Major version of a java executable: from `<home>/release` when there is one, else from `java -version`. */
export function javaMajorOf(javaBin: string): number | null {
  const release = join(dirname(dirname(javaBin)), 'release');
  try {
    const m = /^JAVA_VERSION="([^"]+)"/m.exec(readFileSync(release, 'utf8'));
    const major = m ? parseJavaMajor(m[1]) : null;
    if (major !== null) return major;
  } catch {
    // no release file: ask the binary
  }
  const r = spawnSync(javaBin, ['-version'], { encoding: 'utf8', timeout: 20_000 });
  const m = /version "([^"]+)"/.exec(`${r.stderr ?? ''}\n${r.stdout ?? ''}`);
  return m ? parseJavaMajor(m[1]) : null;
}

function isFile(p: string): boolean {
  try {
    return statSync(p).isFile();
  } catch {
    return false;
  }
}

/** The first `name` on PATH (as given by env), or null. */
export function whichOnPath(name: string, env: NodeJS.ProcessEnv = process.env): string | null {
  const exts = process.platform === 'win32' ? (env.PATHEXT ?? '.EXE;.CMD;.BAT').split(';') : [''];
  for (const dir of (env.PATH ?? '').split(delimiter)) {
    if (!dir) continue;
    for (const ext of exts) {
      const candidate = join(dir, name + ext);
      if (isFile(candidate)) return candidate;
    }
  }
  return null;
}

function javaIn(home: string): string {
  return join(home, 'bin', process.platform === 'win32' ? 'java.exe' : 'java');
}

/**
 * Finds a Java TRINO_MIN_JAVA+: TRINO_JAVA_HOME (authoritative when set), then JAVA_HOME, then
 * `java` on PATH, then the newest JDK under the scan folders (`<dir>/*` and `<dir>/*` + `/Contents/Home`).
 * Throws a one-line TrinoSetupError naming what was found and how to fix it.
 */
export function findJava(opts: FindJavaOptions = {}): FoundJava {
  const env = opts.env ?? process.env;
  const scanDirs = opts.scanDirs ?? defaultJdkScanDirs();
  const need = `Trino ${TRINO_VERSION} needs Java ${TRINO_MIN_JAVA} or later`;
  const fix = `Install a JDK ${TRINO_MIN_JAVA}+ (e.g. Temurin 25) or set TRINO_JAVA_HOME to one`;

  const explicit = env.TRINO_JAVA_HOME?.trim();
  if (explicit) {
    const java = javaIn(explicit);
    if (!isFile(java)) throw new TrinoSetupError(`${need}; TRINO_JAVA_HOME=${explicit} has no bin/java. Set TRINO_JAVA_HOME to a JDK ${TRINO_MIN_JAVA}+ home folder`);
    const major = javaMajorOf(java);
    if (major === null || major < TRINO_MIN_JAVA) {
      throw new TrinoSetupError(`${need}; TRINO_JAVA_HOME=${explicit} is java ${major ?? '(unknown version)'}. Set TRINO_JAVA_HOME to a JDK ${TRINO_MIN_JAVA}+`);
    }
    return { java, major, source: 'TRINO_JAVA_HOME' };
  }

  const found: string[] = [];
  const seen = new Set<string>();
  const consider = (java: string, source: string): FoundJava | null => {
    let key = java;
    try {
      key = realpathSync(java);
    } catch {
      // keep the given path
    }
    if (seen.has(key)) return null;
    seen.add(key);
    const major = javaMajorOf(java);
    if (major !== null && major >= TRINO_MIN_JAVA) return { java, major, source };
    found.push(`java ${major ?? '?'} (${source})`);
    return null;
  };

  const javaHome = env.JAVA_HOME?.trim();
  if (javaHome && isFile(javaIn(javaHome))) {
    const hit = consider(javaIn(javaHome), `JAVA_HOME=${javaHome}`);
    if (hit) return hit;
  }
  const onPath = whichOnPath('java', env);
  if (onPath) {
    const hit = consider(onPath, `PATH ${onPath}`);
    if (hit) return hit;
  }
  const scanned: FoundJava[] = [];
  for (const parent of scanDirs) {
    let children: string[];
    try {
      children = readdirSync(parent).sort();
    } catch {
      continue;
    }
    for (const child of children) {
      for (const home of [join(parent, child), join(parent, child, 'Contents', 'Home')]) {
        if (!isFile(javaIn(home))) continue;
        const hit = consider(javaIn(home), home);
        if (hit) scanned.push(hit);
      }
    }
  }
  if (scanned.length > 0) return scanned.reduce((best, j) => (j.major > best.major ? j : best));

  const where = ['TRINO_JAVA_HOME', 'JAVA_HOME', 'PATH', ...scanDirs.map((d) => `${d}/*`)].join(', ');
  throw new TrinoSetupError(`${need}; found: ${found.length ? found.join(', ') : `no Java (looked at ${where})`}. ${fix}`);
}

// ---------------------------------------------------------------------------------------------
// Download and extraction
// ---------------------------------------------------------------------------------------------

export interface EnsureServerOptions {
  log?: (line: string) => void;
  env?: NodeJS.ProcessEnv;
  /** Defaults to <localTrinoHome()>. */
  home?: string;
}

/** The message for a missing `mvn` (exported for tests). */
export function missingMavenMessage(downloadsDir: string, missing: string[]): string {
  return (
    `Downloading Trino ${TRINO_VERSION} needs Maven, but mvn was not found on PATH. ` +
    `Install Maven (apt-get install maven, brew install maven) or put ${missing.join(' and ')} into ${downloadsDir}`
  );
}

function oneLine(s: string, max = 300): string {
  const flat = s.replace(/\s+/g, ' ').trim();
  return flat.length > max ? `${flat.slice(0, max - 1)}…` : flat;
}

function run(cmd: string, args: string[], opts: { cwd?: string; env?: NodeJS.ProcessEnv }): Promise<{ code: number | null; output: string; error?: Error }> {
  return new Promise((done) => {
    let output = '';
    let child: ChildProcess;
    try {
      child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ['ignore', 'pipe', 'pipe'] });
    } catch (error) {
      done({ code: null, output, error: error as Error });
      return;
    }
    const keep = (b: Buffer) => {
      output = (output + b.toString('utf8')).slice(-20_000);
    };
    child.stdout?.on('data', keep);
    child.stderr?.on('data', keep);
    child.on('error', (error) => done({ code: null, output, error }));
    child.on('close', (code) => done({ code, output }));
  });
}

/** Downloads the server and Hive plugin archives into downloads/ with `mvn dependency:copy` (skips files present). */
async function ensureDownloads(p: ReturnType<typeof paths>, log: (l: string) => void, env: NodeJS.ProcessEnv): Promise<void> {
  const missing = ARTIFACTS.filter((a) => !isFile(join(p.downloads, a.file)));
  if (missing.length === 0) return;
  const mvn = whichOnPath('mvn', env);
  if (!mvn) throw new TrinoSetupError(missingMavenMessage(p.downloads, missing.map((a) => a.file)));
  mkdirSync(p.downloads, { recursive: true });
  // Temp folders of a download that was killed are never reused.
  for (const entry of readdirSync(p.downloads)) if (entry.startsWith('.tmp-')) rmSync(join(p.downloads, entry), { recursive: true, force: true });
  for (const a of missing) {
    // Copy into a private temp folder, then rename: an interrupted download never looks complete.
    const tmp = join(p.downloads, `.tmp-${process.pid}-${Date.now()}`);
    mkdirSync(tmp, { recursive: true });
    try {
      log(`downloading ${a.coords} with Maven...`);
      const started = Date.now();
      const r = await run(mvn, ['-q', '-B', 'dependency:copy', `-Dartifact=${a.coords}`, `-DoutputDirectory=${tmp}`], { cwd: tmp, env });
      const file = join(tmp, a.file);
      if (r.error || r.code !== 0 || !isFile(file)) {
        const errLine = r.output.split('\n').find((l) => l.includes('[ERROR]') && l.replace(/\[ERROR\]/g, '').trim()) ?? r.output.split('\n').filter(Boolean).pop() ?? '';
        const why = r.error ? r.error.message : `exit ${r.code}`;
        throw new TrinoSetupError(
          `Downloading ${a.coords} with Maven failed (${why}): ${oneLine(errLine.replace(/\[ERROR\]/g, '')).replace(/\.+$/, '')}. ` +
            `Check access to Maven Central (or a mirror in ~/.m2/settings.xml), or put ${a.file} into ${p.downloads}`,
        );
      }
      renameSync(file, join(p.downloads, a.file));
      log(`  ${a.file}: ${(statSync(join(p.downloads, a.file)).size / 1e6).toFixed(0)} MB in ${((Date.now() - started) / 1000).toFixed(1)} s`);
    } finally {
      rmSync(tmp, { recursive: true, force: true });
    }
  }
}

function readFully(fd: number, length: number, position: number): Buffer {
  const buf = Buffer.alloc(length);
  let off = 0;
  while (off < length) {
    const n = readSync(fd, buf, off, length - off, position + off);
    if (n === 0) throw new Error('unexpected end of file');
    off += n;
  }
  return buf;
}

/** Extracts a (non-zip64) zip archive into destDir with Node alone; returns the number of files written. */
export function extractZip(zipPath: string, destDir: string): number {
  const root = resolve(destDir);
  const fd = openSync(zipPath, 'r');
  try {
    const size = fstatSync(fd).size;
    const tailLen = Math.min(size, 22 + 0xffff);
    const tail = readFully(fd, tailLen, size - tailLen);
    let eocd = -1;
    for (let i = tailLen - 22; i >= 0; i--) {
      if (tail.readUInt32LE(i) === 0x06054b50) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) throw new Error('not a zip archive (no end-of-central-directory record)');
    const entries = tail.readUInt16LE(eocd + 10);
    const cdSize = tail.readUInt32LE(eocd + 12);
    const cdOffset = tail.readUInt32LE(eocd + 16);
    if (entries === 0xffff || cdOffset === 0xffffffff) throw new Error('zip64 archives are not supported');
    const cd = readFully(fd, cdSize, cdOffset);
    let p = 0;
    let files = 0;
    for (let n = 0; n < entries; n++) {
      if (cd.readUInt32LE(p) !== 0x02014b50) throw new Error('corrupt central directory');
      const method = cd.readUInt16LE(p + 10);
      const compressed = cd.readUInt32LE(p + 20);
      const uncompressed = cd.readUInt32LE(p + 24);
      const nameLen = cd.readUInt16LE(p + 28);
      const extraLen = cd.readUInt16LE(p + 30);
      const commentLen = cd.readUInt16LE(p + 32);
      const unixMode = (cd.readUInt32LE(p + 38) >>> 16) & 0o777;
      const localOffset = cd.readUInt32LE(p + 42);
      const name = cd.toString('utf8', p + 46, p + 46 + nameLen);
      p += 46 + nameLen + extraLen + commentLen;

      const target = resolve(root, name);
      if (target !== root && !target.startsWith(root + sep)) throw new Error(`entry outside the target folder: ${name}`);
      if (name.endsWith('/')) {
        mkdirSync(target, { recursive: true });
        continue;
      }
      const local = readFully(fd, 30, localOffset);
      if (local.readUInt32LE(0) !== 0x04034b50) throw new Error(`corrupt local header for ${name}`);
      const data = readFully(fd, compressed, localOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28));
      let content: Buffer;
      if (method === 0) content = data;
      else if (method === 8) content = inflateRawSync(data);
      else throw new Error(`unsupported compression method ${method} for ${name}`);
      if (content.length !== uncompressed) throw new Error(`size mismatch for ${name}`);
      mkdirSync(dirname(target), { recursive: true });
      writeFileSync(target, content, { mode: unixMode || 0o644 });
      files++;
    }
    return files;
  } finally {
    closeSync(fd);
  }
}

/**
 * Makes sure `server-476/` holds a complete server with the Hive plugin: downloads what is missing,
 * extracts into a temp folder and renames it into place. Idempotent; returns the server folder.
 */
export async function ensureTrinoServer(opts: EnsureServerOptions = {}): Promise<string> {
  const log = opts.log ?? (() => {});
  const env = opts.env ?? process.env;
  const p = paths(opts.home);
  // server-476/ only appears by a rename once complete; the checks guard against hand-made damage.
  if (existsSync(join(p.server, 'lib')) && existsSync(join(p.server, 'plugin', 'hive'))) return p.server;
  mkdirSync(p.home, { recursive: true });
  // Leftovers of an interrupted extraction are never reused.
  for (const entry of readdirSync(p.home)) if (entry.startsWith('.extract-')) rmSync(join(p.home, entry), { recursive: true, force: true });
  if (existsSync(p.server)) rmSync(p.server, { recursive: true, force: true });

  await ensureDownloads(p, log, env);

  const tmp = join(p.home, `.extract-${process.pid}-${Date.now()}`);
  mkdirSync(tmp, { recursive: true });
  try {
    const [core, hive] = ARTIFACTS.map((a) => join(p.downloads, a.file));
    const started = Date.now();
    log(`extracting ${ARTIFACTS[0].file}...`);
    const t = await run('tar', ['-xzf', core, '-C', tmp], {});
    const top = join(tmp, `trino-server-core-${TRINO_VERSION}`);
    if (t.error || t.code !== 0 || !existsSync(join(top, 'lib'))) {
      rmSync(core, { force: true });
      throw new TrinoSetupError(
        `Extracting ${core} failed (${t.error?.message ?? `tar exit ${t.code}`}: ${oneLine(t.output, 200)}); deleted it, run again to download it afresh`,
      );
    }
    log(`extracting ${ARTIFACTS[1].file} into plugin/hive...`);
    const hiveTmp = join(tmp, 'hive');
    try {
      extractZip(hive, hiveTmp);
    } catch (e) {
      rmSync(hive, { force: true });
      throw new TrinoSetupError(`Extracting ${hive} failed (${(e as Error).message}); deleted it, run again to download it afresh`);
    }
    const hiveTop = join(hiveTmp, `trino-hive-${TRINO_VERSION}`);
    if (!existsSync(hiveTop)) throw new TrinoSetupError(`${hive} has no trino-hive-${TRINO_VERSION}/ folder; delete it and run again`);
    rmSync(join(top, 'plugin', 'hive'), { recursive: true, force: true });
    renameSync(hiveTop, join(top, 'plugin', 'hive'));
    renameSync(top, p.server);
    log(`  extracted into ${p.server} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return p.server;
}

// ---------------------------------------------------------------------------------------------
// Processes
// ---------------------------------------------------------------------------------------------

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function commandLineOf(pid: number): string | null {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    const r = spawnSync('ps', ['-o', 'command=', '-p', String(pid)], { encoding: 'utf8' });
    return r.status === 0 ? r.stdout : null;
  }
}

/** Alive and (when its command line can be read) a Trino using this home's etc/: guards against PID reuse. */
function isOurTrino(pid: number, etcDir: string): boolean {
  if (!Number.isInteger(pid) || pid <= 0 || !pidAlive(pid)) return false;
  const cmd = commandLineOf(pid);
  if (cmd === null) return true;
  return cmd.includes(MAIN_CLASS) && cmd.includes(join(etcDir, 'config.properties'));
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function infoReady(url: string): Promise<boolean> {
  try {
    const res = await fetch(`${url}/v1/info`, { signal: AbortSignal.timeout(2_000) });
    if (!res.ok) return false;
    const info = (await res.json()) as { starting?: boolean };
    return info.starting === false;
  } catch {
    return false;
  }
}

async function killAndWait(pid: number, etcDir: string): Promise<void> {
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + STOP_GRACE_MS;
  while (Date.now() < deadline) {
    if (!isOurTrino(pid, etcDir)) return;
    await sleep(200);
  }
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  for (let i = 0; i < 50 && isOurTrino(pid, etcDir); i++) await sleep(100);
}

/** Removes the server.log symlink (airlift re-creates it) and keeps the 10 newest dated server logs. */
function rotateLogs(p: ReturnType<typeof paths>): void {
  rmSync(p.serverLog, { force: true });
  let dated: string[] = [];
  try {
    dated = readdirSync(p.logDir).filter((n) => n.startsWith('server.log-')).sort();
  } catch {
    return;
  }
  for (const old of dated.slice(0, Math.max(0, dated.length - 10))) rmSync(join(p.logDir, old), { force: true });
}

function tailOf(file: string, lines: number): string[] {
  try {
    return readFileSync(file, 'utf8').split('\n').filter((l) => l.trim()).slice(-lines);
  } catch {
    return [];
  }
}

function logTail(p: ReturnType<typeof paths>): string {
  const parts: string[] = [];
  const server = tailOf(p.serverLog, 25);
  if (server.length) parts.push(`last lines of ${p.serverLog}:`, ...server);
  const launcher = tailOf(p.launcherLog, server.length ? 5 : 25);
  if (launcher.length) parts.push(`last lines of ${p.launcherLog}:`, ...launcher);
  return parts.length ? `\n${parts.join('\n')}` : `\n(no log output in ${p.logDir})`;
}

/** Runs one statement over the client protocol (POST /v1/statement, follow nextUri); returns its rows. */
async function statementRows(url: string, sql: string): Promise<unknown[][]> {
  const headers = { 'X-Trino-User': 'local-trino' };
  let res = await fetch(`${url}/v1/statement`, { method: 'POST', headers, body: sql, signal: AbortSignal.timeout(10_000) });
  const rows: unknown[][] = [];
  for (;;) {
    if (!res.ok) throw new Error(`HTTP ${res.status}`);
    const body = (await res.json()) as { nextUri?: string; data?: unknown[][]; error?: { message: string } };
    if (body.error) throw new Error(body.error.message);
    rows.push(...(body.data ?? []));
    if (!body.nextUri) return rows;
    res = await fetch(body.nextUri, { headers, signal: AbortSignal.timeout(10_000) });
  }
}

/**
 * Ready for table scans: /v1/info says starting:false AND the node has registered itself as an
 * active worker (until then queries that read tables fail with NO_NODES_AVAILABLE).
 */
async function readyForQueries(url: string): Promise<boolean> {
  if (!(await infoReady(url))) return false;
  try {
    const rows = await statementRows(url, "SELECT count(*) FROM system.runtime.nodes WHERE state = 'active'");
    return Number(rows[0]?.[0]) > 0;
  } catch {
    return false;
  }
}

async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === 'object' ? done(addr.port) : fail(new Error('no port'))));
    });
  });
}

async function portIsFree(port: number): Promise<boolean> {
  return new Promise((done) => {
    const srv = createServer();
    srv.once('error', () => done(false));
    srv.listen(port, '127.0.0.1', () => srv.close(() => done(true)));
  });
}

/** A lock file so that two starts (CLI and test run) do not race; a lock of a dead process is taken over. */
async function withLock<T>(lockFile: string, waitMs: number, body: () => Promise<T>): Promise<T> {
  const deadline = Date.now() + waitMs;
  for (;;) {
    try {
      const fd = openSync(lockFile, 'wx');
      writeSync(fd, String(process.pid));
      closeSync(fd);
      break;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'EEXIST') throw e;
      let holder = NaN;
      try {
        holder = Number(readFileSync(lockFile, 'utf8').trim());
      } catch {
        // vanished meanwhile: retry
      }
      if (Number.isInteger(holder) && holder > 0 && !pidAlive(holder)) {
        rmSync(lockFile, { force: true });
        continue;
      }
      if (Date.now() > deadline) throw new TrinoSetupError(`another process (pid ${holder}) is starting the local Trino (${lockFile}); wait for it or delete the lock`);
      await sleep(250);
    }
  }
  try {
    return await body();
  } finally {
    try {
      unlinkSync(lockFile);
    } catch {
      // already gone
    }
  }
}

// ---------------------------------------------------------------------------------------------
// Configuration
// ---------------------------------------------------------------------------------------------

const JVM_OPTIONS = [
  '-server',
  '-Xmx4G',
  '-XX:+UseG1GC',
  '-XX:+ExitOnOutOfMemoryError',
  '-XX:-OmitStackTraceInFastThrow',
  '-XX:+EnableDynamicAgentLoading',
  '--enable-native-access=ALL-UNNAMED',
  '-Djdk.attach.allowAttachSelf=true',
  '-Dfile.encoding=UTF-8',
  // The session time zone defaults to the JVM's: UTC, as on Athena.
  '-Duser.timezone=UTC',
];

function properties(entries: Record<string, string | number | boolean>): string {
  return `${Object.entries(entries)
    .map(([k, v]) => `${k}=${v}`)
    .join('\n')}\n`;
}

function writeConfig(p: ReturnType<typeof paths>, port: number): { nodeProps: Record<string, string> } {
  mkdirSync(join(p.etc, 'catalog'), { recursive: true });
  mkdirSync(p.logDir, { recursive: true });
  mkdirSync(p.warehouse, { recursive: true });
  const nodeProps = {
    'node.environment': 'local',
    'node.id': 'local',
    'node.data-dir': p.varDir,
    // Listen on loopback only.
    'node.bind-ip': '127.0.0.1',
    'node.internal-address': '127.0.0.1',
  };
  writeFileSync(join(p.etc, 'node.properties'), properties(nodeProps));
  writeFileSync(join(p.etc, 'jvm.config'), `${JVM_OPTIONS.join('\n')}\n`);
  writeFileSync(
    join(p.etc, 'config.properties'),
    properties({
      coordinator: true,
      'node-scheduler.include-coordinator': true,
      'http-server.http.port': port,
      'discovery.uri': `http://127.0.0.1:${port}`,
      'query.max-memory': '2GB',
      'query.max-memory-per-node': '2GB',
      'http-server.log.enabled': false,
      'plugin.dir': join(p.server, 'plugin'),
      'catalog.config-dir': join(p.etc, 'catalog'),
    }),
  );
  writeFileSync(
    join(p.etc, 'catalog', `${LOCAL_TRINO_CATALOG}.properties`),
    properties({
      'connector.name': 'hive',
      'hive.metastore': 'file',
      'hive.metastore.catalog.dir': 'local:///metastore',
      'fs.native-local.enabled': true,
      'local.location': p.warehouse,
      'hive.non-managed-table-writes-enabled': true,
    }),
  );
  return { nodeProps };
}

// ---------------------------------------------------------------------------------------------
// Public API
// ---------------------------------------------------------------------------------------------

function toLocalTrino(s: TrinoState): LocalTrino {
  return { url: s.url, catalog: s.catalog ?? LOCAL_TRINO_CATALOG, warehouseDir: s.warehouseDir, pid: s.pid, version: s.version };
}

/** The running local Trino (recorded PID alive and GET /v1/info says starting:false), else null. A stale state.json is removed. */
export async function localTrinoStatus(): Promise<LocalTrino | null> {
  const p = paths();
  const state = readState(p.state);
  if (!state) return null;
  if (!isOurTrino(state.pid, p.etc)) {
    rmSync(p.state, { force: true });
    return null;
  }
  return (await infoReady(state.url)) ? toLocalTrino(state) : null;
}

export interface StartLocalTrinoOptions {
  log?: (line: string) => void;
  /** Default: env TRINO_PORT, else a free port. */
  port?: number;
  /** How long the server may take to answer after the JVM started (default 120 s). */
  timeoutMs?: number;
  /**
   * Take a lease for this process (test runs do): a server started by a leasing call is stopped by
   * releaseLocalTrino() once no live process holds a lease on it, so that two test runs sharing it
   * do not pull it from under each other. A start without lease (the CLI) keeps the server running.
   */
  lease?: boolean;
}

/** Starts the local Trino (downloading and extracting it first if needed), or returns the one already running. */
export async function startLocalTrino(opts: StartLocalTrinoOptions = {}): Promise<LocalTrino & { alreadyRunning: boolean; startMs: number }> {
  const t0 = Date.now();
  const log = opts.log ?? (() => {});
  const timeoutMs = opts.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  const p = paths();
  const elapsed = () => `${((Date.now() - t0) / 1000).toFixed(1)} s`;
  mkdirSync(p.home, { recursive: true });

  return withLock(p.lock, timeoutMs + 15 * 60_000, async () => {
    // 1. One already recorded?
    const state = readState(p.state);
    if (state) {
      if (!isOurTrino(state.pid, p.etc)) {
        log(`removing stale ${p.state} (pid ${state.pid} is not running)`);
        rmSync(p.state, { force: true });
      } else if (state.version !== TRINO_VERSION) {
        log(`stopping Trino ${state.version} (pid ${state.pid}): this code runs Trino ${TRINO_VERSION}`);
        await killAndWait(state.pid, p.etc);
        rmSync(p.state, { force: true });
      } else {
        if (!(await infoReady(state.url))) {
          log(`Trino (pid ${state.pid}) is still starting; waiting...`);
          await waitReady(state.url, state.pid, p, timeoutMs, undefined);
        }
        log(`Trino ${state.version} already running at ${state.url} (pid ${state.pid})`);
        if (opts.lease) takeLease(p, state.pid);
        else if (state.ephemeral) writeState(p.state, { ...state, ephemeral: false });
        return { ...toLocalTrino(state), alreadyRunning: true, startMs: Date.now() - t0 };
      }
    }

    // 2. Prerequisites, download, extraction.
    const java = findJava();
    const server = await ensureTrinoServer({ log, home: p.home });

    // 3. Port and configuration.
    const envPort = process.env.TRINO_PORT?.trim();
    let port: number;
    if (opts.port !== undefined || envPort) {
      port = opts.port ?? Number(envPort);
      const from = opts.port !== undefined ? 'port option' : 'TRINO_PORT';
      if (!Number.isInteger(port) || port <= 0 || port > 65535) throw new TrinoSetupError(`invalid Trino port ${opts.port ?? envPort} (${from})`);
      if (!(await portIsFree(port))) throw new TrinoSetupError(`port ${port} (${from}) is already in use on 127.0.0.1; choose another or unset it to get a free one`);
    } else {
      port = await freePort();
    }
    const { nodeProps } = writeConfig(p, port);
    const url = `http://127.0.0.1:${port}`;

    // 4. Start the JVM, detached, stdout/stderr to var/log/launcher.log. The server.log symlink of the
    //    previous run goes first, so that an error never shows an old log; old logs are pruned.
    rotateLogs(p);
    log(`starting Trino ${TRINO_VERSION} with java ${java.major} (${java.source}) on port ${port}...`);
    const out = openSync(p.launcherLog, 'w');
    let child: ChildProcess;
    try {
      child = spawn(
        java.java,
        [
          '-cp',
          `${join(server, 'lib')}${sep}*`,
          ...JVM_OPTIONS,
          ...Object.entries(nodeProps).map(([k, v]) => `-D${k}=${v}`),
          `-Dlog.output-file=${p.serverLog}`,
          '-Dlog.enable-console=false',
          `-Dconfig=${join(p.etc, 'config.properties')}`,
          MAIN_CLASS,
        ],
        { cwd: p.varDir, detached: true, stdio: ['ignore', out, out] },
      );
    } finally {
      closeSync(out);
    }
    const pid = child.pid;
    if (pid === undefined) {
      const err = await new Promise<Error | undefined>((r) => child.once('error', r));
      throw new TrinoSetupError(`could not run ${java.java}: ${err?.message ?? 'unknown error'}`);
    }
    let exited: number | string | null | undefined;
    child.once('exit', (code, signal) => {
      exited = code ?? signal;
    });
    child.unref();
    const st: TrinoState = {
      pid,
      port,
      url,
      catalog: LOCAL_TRINO_CATALOG,
      warehouseDir: p.warehouse,
      version: TRINO_VERSION,
      java: java.java,
      startedAt: new Date().toISOString(),
      ...(opts.lease ? { ephemeral: true } : {}),
    };
    writeState(p.state, st);

    // 5. Wait until it answers.
    await waitReady(url, pid, p, timeoutMs, () => exited);
    if (opts.lease) takeLease(p, pid);
    log(`Trino ${TRINO_VERSION} running at ${url} (started in ${elapsed()})`);
    return { ...toLocalTrino(st), alreadyRunning: false, startMs: Date.now() - t0 };
  });
}

async function waitReady(url: string, pid: number, p: ReturnType<typeof paths>, timeoutMs: number, exitStatus: (() => number | string | null | undefined) | undefined): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await readyForQueries(url)) return;
    const status = exitStatus?.();
    if (status !== undefined || !isOurTrino(pid, p.etc)) {
      rmSync(p.state, { force: true });
      throw new TrinoStartError(`Trino ${TRINO_VERSION} (pid ${pid}) exited while starting${status !== undefined ? ` (${status})` : ''}${logTail(p)}`);
    }
    if (Date.now() > deadline) {
      await killAndWait(pid, p.etc);
      rmSync(p.state, { force: true });
      throw new TrinoStartError(`Trino ${TRINO_VERSION} (pid ${pid}) did not answer at ${url}/v1/info within ${(timeoutMs / 1000).toFixed(0)} s; stopped it${logTail(p)}`);
    }
    await sleep(250);
  }
}

/** Stops the local Trino started by this code (by its recorded PID). True if one was running. */
export async function stopLocalTrino(): Promise<boolean> {
  const p = paths();
  const state = readState(p.state);
  if (!state) return false;
  const running = isOurTrino(state.pid, p.etc);
  if (running) await killAndWait(state.pid, p.etc);
  rmSync(p.state, { force: true });
  return running;
}

// ---------------------------------------------------------------------------------------------
// Leases (shared use by concurrent test runs)
// ---------------------------------------------------------------------------------------------

function takeLease(p: ReturnType<typeof paths>, serverPid: number): void {
  mkdirSync(p.leases, { recursive: true });
  writeFileSync(join(p.leases, String(process.pid)), String(serverPid));
}

/** Live leases on the server with this PID; leases of dead processes or of another server are removed. */
function liveLeases(p: ReturnType<typeof paths>, serverPid: number): number[] {
  let names: string[];
  try {
    names = readdirSync(p.leases);
  } catch {
    return [];
  }
  const live: number[] = [];
  for (const name of names) {
    const holder = Number(name);
    let leased = NaN;
    try {
      leased = Number(readFileSync(join(p.leases, name), 'utf8').trim());
    } catch {
      // vanished meanwhile
    }
    if (Number.isInteger(holder) && holder > 0 && pidAlive(holder) && leased === serverPid) live.push(holder);
    else rmSync(join(p.leases, name), { force: true });
  }
  return live;
}

/**
 * Drops this process's lease (see StartLocalTrinoOptions.lease). Stops the server when it was
 * started by a leasing call and no other live process holds a lease; returns true if it stopped it.
 */
export async function releaseLocalTrino(): Promise<boolean> {
  const p = paths();
  if (!existsSync(p.home)) return false;
  return withLock(p.lock, 15 * 60_000, async () => {
    rmSync(join(p.leases, String(process.pid)), { force: true });
    const state = readState(p.state);
    if (!state || !state.ephemeral) return false;
    if (liveLeases(p, state.pid).length > 0) return false;
    return stopLocalTrino();
  });
}
