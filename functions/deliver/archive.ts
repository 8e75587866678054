/**
 * The report archive: S3 (production, a versioned bucket) or a local folder (analysts, tests).
 * Both implement the same small interface, so the archive and delivery step is the same code in
 * both homes.
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join, resolve, sep } from 'node:path';
import { pathToFileURL } from 'node:url';
import { DeleteObjectCommand, GetObjectCommand, PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import { ArchiveError } from './errors.js';

export type Body = Uint8Array | string;

/** What the archive says about a stored object. */
export interface PutResult {
  /** S3 (versioned bucket): the version the put created; a link naming it always serves these bytes. */
  versionId?: string;
}

export interface Archive {
  /** Where the archive is, for logs and messages (`s3://bucket/prefix` or a folder). */
  readonly location: string;
  /** Stores `body` under `key`; `meta` is kept as object metadata where the archive has any (S3 x-amz-meta-*). */
  put(key: string, body: Body, contentType: string, meta?: Record<string, string>): Promise<PutResult>;
  /** The object's bytes, or null when there is none. */
  get(key: string): Promise<Uint8Array | null>;
  /**
   * Writes only if no object exists under `key`, atomically (S3 `If-None-Match: *`, or an
   * exclusive file create). Returns false, writing nothing, when one already exists.
   */
  putIfAbsent(key: string, body: Body, contentType: string): Promise<boolean>;
  remove(key: string): Promise<void>;
  /**
   * A URL a recipient can open for `expiresInSeconds` (S3: presigned GET, of `versionId` when
   * given, so a later overwrite cannot change what it serves; folder: file URL).
   */
  link(key: string, expiresInSeconds: number, versionId?: string): Promise<string>;
}

/** Where `key` is, for messages: `s3://bucket/prefix/key` or `/folder/key`. */
export function locate(archive: Archive, key: string): string {
  return archive.location.endsWith('/') ? archive.location + key : `${archive.location}/${key}`;
}

export interface S3ArchiveOptions {
  s3: S3Client;
  bucket: string;
  /** Key prefix inside the bucket ('' or ending in '/'). */
  prefix?: string;
}

function httpStatus(e: unknown): number | undefined {
  return (e as { $metadata?: { httpStatusCode?: number } })?.$metadata?.httpStatusCode;
}

export class S3Archive implements Archive {
  readonly location: string;
  private readonly s3: S3Client;
  private readonly bucket: string;
  private readonly prefix: string;

  constructor(opts: S3ArchiveOptions) {
    this.s3 = opts.s3;
    this.bucket = opts.bucket;
    this.prefix = opts.prefix ?? '';
    if (this.prefix && !this.prefix.endsWith('/')) throw new RangeError(`archive prefix must end with "/": "${this.prefix}"`);
    this.location = `s3://${this.bucket}/${this.prefix}`;
  }

  private key(key: string): string {
    return this.prefix + key;
  }

  async put(key: string, body: Body, contentType: string, meta?: Record<string, string>): Promise<PutResult> {
    try {
      const r = await this.s3.send(
        new PutObjectCommand({ Bucket: this.bucket, Key: this.key(key), Body: body, ContentType: contentType, ...(meta ? { Metadata: meta } : {}) }),
      );
      return r?.VersionId ? { versionId: r.VersionId } : {};
    } catch (e) {
      throw new ArchiveError(`cannot write ${this.location}${key}: ${(e as Error).message}`, { cause: e });
    }
  }

  async get(key: string): Promise<Uint8Array | null> {
    try {
      const r = await this.s3.send(new GetObjectCommand({ Bucket: this.bucket, Key: this.key(key) }));
      if (!r.Body) return new Uint8Array();
      return await r.Body.transformToByteArray();
    } catch (e) {
      if ((e as Error).name === 'NoSuchKey' || httpStatus(e) === 404) return null;
      throw new ArchiveError(`cannot read ${this.location}${key}: ${(e as Error).message}`, { cause: e });
    }
  }

  async putIfAbsent(key: string, body: Body, contentType: string): Promise<boolean> {
    // S3 answers 412 when the key exists, and 409 ConditionalRequestConflict while a concurrent
    // write to the same key is in flight: try again, and the loser then gets its 412.
    for (let attempt = 1; ; attempt++) {
      try {
        await this.s3.send(
          new PutObjectCommand({ Bucket: this.bucket, Key: this.key(key), Body: body, ContentType: contentType, IfNoneMatch: '*' }),
        );
        return true;
      } catch (e) {
        const status = httpStatus(e);
        if (status === 412 || (e as Error).name === 'PreconditionFailed') return false;
        if ((status === 409 || (e as Error).name === 'ConditionalRequestConflict') && attempt < 4) {
          await new Promise((r) => setTimeout(r, 100 * 2 ** attempt));
          continue;
        }
        throw new ArchiveError(`cannot create ${this.location}${key}: ${(e as Error).message}`, { cause: e });
      }
    }
  }

  async remove(key: string): Promise<void> {
    try {
      await this.s3.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.key(key) }));
    } catch (e) {
      throw new ArchiveError(`cannot delete ${this.location}${key}: ${(e as Error).message}`, { cause: e });
    }
  }

  async link(key: string, expiresInSeconds: number, versionId?: string): Promise<string> {
    return getSignedUrl(this.s3, new GetObjectCommand({ Bucket: this.bucket, Key: this.key(key), ...(versionId ? { VersionId: versionId } : {}) }), {
      expiresIn: expiresInSeconds,
    });
  }
}

export class LocalArchive implements Archive {
  readonly location: string;
  private readonly root: string;

  constructor(folder: string) {
    this.root = resolve(folder);
    this.location = this.root;
  }

  private path(key: string): string {
    const p = resolve(this.root, key);
    if (!p.startsWith(this.root + sep)) throw new ArchiveError(`key "${key}" points outside the archive folder`);
    return p;
  }

  /**
   * The complete body under a temporary name in the same folder: readers never see a partial file
   * (a disk that fills leaves only the temporary file, removed here).
   */
  private async staged(p: string, body: Body): Promise<string> {
    await mkdir(dirname(p), { recursive: true });
    const tmp = join(dirname(p), `.${basename(p)}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`);
    try {
      await writeFile(tmp, body, { flag: 'wx' });
    } catch (e) {
      await rm(tmp, { force: true });
      throw new ArchiveError(`cannot write ${p}: ${(e as Error).message}`, { cause: e });
    }
    return tmp;
  }

  /** Replaces the object atomically (rename). */
  async put(key: string, body: Body, _contentType: string, _meta?: Record<string, string>): Promise<PutResult> {
    const p = this.path(key);
    const tmp = await this.staged(p, body);
    try {
      await rename(tmp, p);
    } catch (e) {
      await rm(tmp, { force: true });
      throw new ArchiveError(`cannot write ${p}: ${(e as Error).message}`, { cause: e });
    }
    return {};
  }

  async get(key: string): Promise<Uint8Array | null> {
    try {
      return new Uint8Array(await readFile(this.path(key)));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null;
      throw new ArchiveError(`cannot read ${join(this.root, key)}: ${(e as Error).message}`, { cause: e });
    }
  }

  /**
   * Creates the object only when absent, atomically and whole: the complete body is staged, then
   * hard-linked under its name (link fails when the name exists), so a concurrent reader sees
   * either nothing or the whole record, and of two writers exactly one wins.
   */
  async putIfAbsent(key: string, body: Body, _contentType: string): Promise<boolean> {
    const p = this.path(key);
    const tmp = await this.staged(p, body);
    try {
      await link(tmp, p);
      return true;
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === 'EEXIST') return false;
      throw new ArchiveError(`cannot create ${p}: ${(e as Error).message}`, { cause: e });
    } finally {
      await rm(tmp, { force: true });
    }
  }

  async remove(key: string): Promise<void> {
    await rm(this.path(key), { force: true });
  }

  async link(key: string, _expiresInSeconds: number, _versionId?: string): Promise<string> {
    return pathToFileURL(this.path(key)).href;
  }
}
