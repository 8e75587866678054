/**
 * The parts of the local Trino setup that need no server: finding Java 24+, the one-line messages
 * for a missing Java or Maven, the download into a temp folder, and the zip extraction. The
 * environment and the JDK folders are fakes in a temp folder, so nothing depends on this machine.
 */
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { crc32, deflateRawSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  ensureTrinoServer,
  extractZip,
  findJava,
  parseJavaMajor,
  TRINO_VERSION,
  TrinoSetupError,
} from '../../functions/trino/localServer.js';

let root: string;
beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'trino-unit-'));
});
afterEach(() => {
  rmSync(root, { recursive: true, force: true });
});

function script(path: string, body: string): string {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, `#!/bin/sh\n${body}\n`);
  chmodSync(path, 0o755);
  return path;
}

/** A fake JDK home: bin/java printing `java -version` output and, unless `release` is false, a release file. */
function fakeJdk(home: string, version: string, opts: { release?: boolean } = {}): string {
  const java = script(join(home, 'bin', 'java'), `echo 'openjdk version "${version}" 2026-01-20' >&2`);
  if (opts.release !== false) writeFileSync(join(home, 'release'), `IMPLEMENTOR="Test"\nJAVA_VERSION="${version}"\n`);
  return java;
}

function emptyDir(name: string): string {
  const dir = join(root, name);
  mkdirSync(dir, { recursive: true });
  return dir;
}

function caught(fn: () => unknown): Error {
  try {
    fn();
  } catch (e) {
    return e as Error;
  }
  throw new Error('expected an error');
}

describe('parseJavaMajor', () => {
  it.each([
    ['25.0.3', 25],
    ['24-ea', 24],
    ['21', 21],
    ['1.8.0_392', 8],
    ['17.0.15+6', 17],
  ])('%s is Java %i', (version, major) => {
    // act / assess
    expect(parseJavaMajor(version)).toBe(major);
  });

  it('is null for text that is no version', () => {
    expect(parseJavaMajor('unknown')).toBeNull();
  });
});

describe('findJava', () => {
  it('picks the newest JDK 24+ under the scan folders when JAVA_HOME and PATH have none', () => {
    // prepare
    const jvm = join(root, 'jvm');
    fakeJdk(join(jvm, 'java-17'), '17.0.15');
    fakeJdk(join(jvm, 'jdk-24'), '24.0.2');
    const newest = fakeJdk(join(jvm, 'jdk-25'), '25.0.3');
    fakeJdk(join(jvm, 'jdk-11'), '11.0.2');
    // act
    const found = findJava({ env: { PATH: emptyDir('bin') }, scanDirs: [jvm] });
    // assess
    expect(found).toEqual({ java: newest, major: 25, source: join(jvm, 'jdk-25') });
  });

  it('finds macOS-style homes (<dir>/<jdk>/Contents/Home)', () => {
    // prepare
    const vms = join(root, 'JavaVirtualMachines');
    const java = fakeJdk(join(vms, 'temurin-25.jdk', 'Contents', 'Home'), '25.0.1');
    // act
    const found = findJava({ env: { PATH: emptyDir('bin') }, scanDirs: [vms] });
    // assess
    expect(found.java).toBe(java);
    expect(found.major).toBe(25);
  });

  it('honours TRINO_JAVA_HOME before a newer JDK elsewhere', () => {
    // prepare
    const jvm = join(root, 'jvm');
    fakeJdk(join(jvm, 'jdk-26'), '26');
    const chosen = fakeJdk(join(root, 'my-jdk-24'), '24.0.1');
    // act
    const found = findJava({ env: { TRINO_JAVA_HOME: join(root, 'my-jdk-24'), PATH: emptyDir('bin') }, scanDirs: [jvm] });
    // assess
    expect(found).toEqual({ java: chosen, major: 24, source: 'TRINO_JAVA_HOME' });
  });

  it('takes JAVA_HOME when it is 24+, before PATH and the scan folders', () => {
    // prepare
    const home = join(root, 'jh');
    const java = fakeJdk(home, '24');
    fakeJdk(join(root, 'jvm', 'jdk-25'), '25');
    // act
    const found = findJava({ env: { JAVA_HOME: home, PATH: emptyDir('bin') }, scanDirs: [join(root, 'jvm')] });
    // assess
    expect(found.java).toBe(java);
    expect(found.source).toBe(`JAVA_HOME=${home}`);
  });

  it('asks `java -version` on PATH when there is no release file', () => {
    // prepare
    const bin = join(root, 'path-bin');
    const java = fakeJdk(join(root, 'pathjdk'), '26.0.1', { release: false });
    script(join(bin, 'java'), `exec '${java}' "$@"`);
    // act
    const found = findJava({ env: { PATH: bin }, scanDirs: [] });
    // assess
    expect(found).toEqual({ java: join(bin, 'java'), major: 26, source: `PATH ${join(bin, 'java')}` });
  });

  it('without Java 24+ names every Java it found and how to fix it, in one line', () => {
    // prepare
    const bin = join(root, 'path-bin');
    script(join(bin, 'java'), `echo 'openjdk version "17.0.15" 2025-04-15' >&2`);
    const jvm = join(root, 'jvm');
    fakeJdk(join(jvm, 'java-21'), '21.0.4');
    // act
    const err = caught(() => findJava({ env: { PATH: bin }, scanDirs: [jvm] }));
    // assess
    expect(err).toBeInstanceOf(TrinoSetupError);
    expect(err.name).toBe('TrinoSetupError');
    expect(err.message).not.toContain('\n');
    expect(err.message).toBe(
      `Trino ${TRINO_VERSION} needs Java 24 or later; found: java 17 (PATH ${join(bin, 'java')}), java 21 (${join(jvm, 'java-21')}). ` +
        'Install a JDK 24+ (e.g. Temurin 25) or set TRINO_JAVA_HOME to one',
    );
  });

  it('without any Java says where it looked', () => {
    // prepare
    const jvm = emptyDir('jvm');
    // act
    const err = caught(() => findJava({ env: { PATH: emptyDir('bin') }, scanDirs: [jvm] }));
    // assess
    expect(err).toBeInstanceOf(TrinoSetupError);
    expect(err.message).toContain(`found: no Java (looked at TRINO_JAVA_HOME, JAVA_HOME, PATH, ${jvm}/*)`);
  });

  it('rejects a TRINO_JAVA_HOME that is too old instead of silently using another Java', () => {
    // prepare
    const old = join(root, 'jdk-17');
    fakeJdk(old, '17.0.2');
    fakeJdk(join(root, 'jvm', 'jdk-25'), '25');
    // act
    const err = caught(() => findJava({ env: { TRINO_JAVA_HOME: old, PATH: emptyDir('bin') }, scanDirs: [join(root, 'jvm')] }));
    // assess
    expect(err).toBeInstanceOf(TrinoSetupError);
    expect(err.message).toBe(`Trino ${TRINO_VERSION} needs Java 24 or later; TRINO_JAVA_HOME=${old} is java 17. Set TRINO_JAVA_HOME to a JDK 24+`);
  });
});

describe('ensureTrinoServer downloads', () => {
  const core = `trino-server-core-${TRINO_VERSION}.tar.gz`;
  const hive = `trino-hive-${TRINO_VERSION}.zip`;

  it('without mvn says so in one line, naming the files that could be put in place instead', async () => {
    // prepare
    const home = join(root, 'home');
    // act
    const err = await ensureTrinoServer({ home, env: { PATH: emptyDir('bin') } }).catch((e: Error) => e);
    // assess
    expect(err).toBeInstanceOf(TrinoSetupError);
    expect((err as Error).message).toBe(
      `Downloading Trino ${TRINO_VERSION} needs Maven, but mvn was not found on PATH. ` +
        `Install Maven (apt-get install maven, brew install maven) or put ${core} and ${hive} into ${join(home, 'downloads')}`,
    );
  });

  it('only asks for the files that are still missing', async () => {
    // prepare
    const home = join(root, 'home');
    mkdirSync(join(home, 'downloads'), { recursive: true });
    writeFileSync(join(home, 'downloads', core), 'already here');
    // act
    const err = await ensureTrinoServer({ home, env: { PATH: emptyDir('bin') } }).catch((e: Error) => e);
    // assess
    expect((err as Error).message).toContain(`or put ${hive} into`);
    expect((err as Error).message).not.toContain(core);
  });

  it('reports a failed Maven download in one line and leaves no partial file behind', async () => {
    // prepare: an mvn that writes half a file, then fails like Maven does offline
    const home = join(root, 'home');
    const bin = join(root, 'mvn-bin');
    script(
      join(bin, 'mvn'),
      [
        'for a in "$@"; do case "$a" in -DoutputDirectory=*) out="${a#-DoutputDirectory=}";; esac; done',
        `echo partial > "$out/${core}"`,
        "echo '[ERROR] Failed to execute goal org.apache.maven.plugins:maven-dependency-plugin:3.7.0:copy (default-cli) on project standalone-pom: Unable to resolve artifact.'",
        "echo '[ERROR] '",
        'exit 1',
      ].join('\n'),
    );
    // act
    const err = await ensureTrinoServer({ home, env: { PATH: bin } }).catch((e: Error) => e);
    // assess
    expect(err).toBeInstanceOf(TrinoSetupError);
    const message = (err as Error).message;
    expect(message).not.toContain('\n');
    expect(message).toMatch(/^Downloading io\.trino:trino-server-core:476:tar\.gz with Maven failed \(exit 1\): Failed to execute goal .*Unable to resolve artifact\. Check access to Maven Central/);
    expect(readdirSync(join(home, 'downloads'))).toEqual([]);
  });
});

/** A zip built by hand: one stored and one deflated file, and a folder entry. */
function makeZip(entries: { name: string; data?: string; deflate?: boolean }[]): Buffer {
  const locals: Buffer[] = [];
  const centrals: Buffer[] = [];
  let offset = 0;
  for (const e of entries) {
    const name = Buffer.from(e.name);
    const raw = Buffer.from(e.data ?? '');
    const body = e.deflate ? deflateRawSync(raw) : raw;
    const local = Buffer.alloc(30);
    local.writeUInt32LE(0x04034b50, 0);
    local.writeUInt16LE(20, 4);
    local.writeUInt16LE(e.deflate ? 8 : 0, 8);
    local.writeUInt32LE(crc32(raw), 14);
    local.writeUInt32LE(body.length, 18);
    local.writeUInt32LE(raw.length, 22);
    local.writeUInt16LE(name.length, 26);
    const central = Buffer.alloc(46);
    central.writeUInt32LE(0x02014b50, 0);
    central.writeUInt16LE(20, 6);
    central.writeUInt16LE(e.deflate ? 8 : 0, 10);
    central.writeUInt32LE(crc32(raw), 16);
    central.writeUInt32LE(body.length, 20);
    central.writeUInt32LE(raw.length, 24);
    central.writeUInt16LE(name.length, 28);
    central.writeUInt32LE(offset, 42);
    locals.push(local, name, body);
    centrals.push(central, name);
    offset += 30 + name.length + body.length;
  }
  const cd = Buffer.concat(centrals);
  const end = Buffer.alloc(22);
  end.writeUInt32LE(0x06054b50, 0);
  end.writeUInt16LE(entries.length, 8);
  end.writeUInt16LE(entries.length, 10);
  end.writeUInt32LE(cd.length, 12);
  end.writeUInt32LE(offset, 16);
  return Buffer.concat([...locals, cd, end]);
}

describe('extractZip', () => {
  it('writes stored and deflated entries and folders', () => {
    // prepare
    const zip = join(root, 'p.zip');
    writeFileSync(
      zip,
      makeZip([
        { name: 'trino-hive-x/' },
        { name: 'trino-hive-x/a.txt', data: 'stored' },
        { name: 'trino-hive-x/lib/b.jar', data: 'deflated '.repeat(100), deflate: true },
      ]),
    );
    // act
    const files = extractZip(zip, join(root, 'out'));
    // assess
    expect(files).toBe(2);
    expect(readFileSync(join(root, 'out', 'trino-hive-x', 'a.txt'), 'utf8')).toBe('stored');
    expect(readFileSync(join(root, 'out', 'trino-hive-x', 'lib', 'b.jar'), 'utf8')).toBe('deflated '.repeat(100));
  });

  it('refuses entries that would land outside the target folder', () => {
    // prepare
    const zip = join(root, 'evil.zip');
    writeFileSync(zip, makeZip([{ name: '../escaped.txt', data: 'x' }]));
    // act
    const err = caught(() => extractZip(zip, join(root, 'out')));
    // assess
    expect(err.message).toContain('outside the target folder');
    expect(existsSync(join(root, 'escaped.txt'))).toBe(false);
  });

  it('refuses a file that is no zip', () => {
    // prepare
    const zip = join(root, 'broken.zip');
    writeFileSync(zip, 'not a zip at all');
    // act / assess
    expect(caught(() => extractZip(zip, join(root, 'out'))).message).toContain('not a zip archive');
  });
});
