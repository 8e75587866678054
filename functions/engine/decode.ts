/**
 * Text encodings and separators of CSV exports as they really arrive: UTF-8 (with or without a
 * byte-order mark), UTF-16 (LE or BE, with a BOM, or without one when every other byte is 0),
 * GB18030 (Excel on a Chinese Windows; GBK and GB2312 are subsets of it) and Windows-1251
 * (Russian Excel, 1C, Bitrix24). Detection reads the bytes:
 *
 *   1. a byte-order mark decides (UTF-8, UTF-16LE, UTF-16BE); so does UTF-16's pattern of zero bytes;
 *   2. a file that is valid UTF-8 from end to end is UTF-8;
 *   3. a file that is mostly valid UTF-8 with a few broken sequences is a damaged UTF-8 file: an error;
 *   4. otherwise GB18030 and Windows-1251 are both decoded (the first 4 MiB) and scored: GB18030 must be well formed
 *      and scores by its share of common characters (GB2312 level 1 and its punctuation), Windows-1251
 *      by its share of characters in well-formed Cyrillic words (lower case, Capitalised or UPPER CASE);
 *      a decoding holding control characters is out. The higher score wins, Windows-1251 on a tie;
 *      neither possible: an error naming the first byte that is not UTF-8 and the encodings tried.
 *
 * The separator is the one of `,` `;` tab `|` that the header line holds most often outside quotes
 * (`,` when it holds none). Node's TextDecoder (full ICU) does the decoding.
 */
import { createReadStream, createWriteStream } from 'node:fs';
import { isUtf8 } from 'node:buffer';
import type { Readable } from 'node:stream';
import { finished } from 'node:stream/promises';
import { createGunzip } from 'node:zlib';

export const ENCODINGS = ['utf-8', 'utf-16le', 'utf-16be', 'gb18030', 'windows-1251'] as const;
export type Encoding = (typeof ENCODINGS)[number];

export const DELIMITERS = [',', ';', '\t', '|'] as const;
export type Delimiter = (typeof DELIMITERS)[number];

/** How the encodings are named in messages and in the progress log. */
export const ENCODING_LABEL: Record<Encoding, string> = {
  'utf-8': 'UTF-8',
  'utf-16le': 'UTF-16LE',
  'utf-16be': 'UTF-16BE',
  gb18030: 'GB18030',
  'windows-1251': 'Windows-1251',
};

/** Names a user may write for an encoding (any case); GBK and GB2312 are read as GB18030, their superset. */
const ENCODING_ALIASES: Record<string, Encoding> = {
  'utf-8': 'utf-8',
  utf8: 'utf-8',
  'utf-8-sig': 'utf-8',
  'utf-16': 'utf-16le',
  utf16: 'utf-16le',
  'utf-16le': 'utf-16le',
  'utf-16be': 'utf-16be',
  gb18030: 'gb18030',
  gbk: 'gb18030',
  gb2312: 'gb18030',
  cp936: 'gb18030',
  'windows-1251': 'windows-1251',
  cp1251: 'windows-1251',
  win1251: 'windows-1251',
  'win-1251': 'windows-1251',
};

/** The encoding a user's name stands for, or null. */
export function parseEncoding(name: string): Encoding | null {
  return ENCODING_ALIASES[name.trim().toLowerCase()] ?? null;
}

/** The separator a user's text stands for (`,` `;` `|`, a tab, or the words `tab`, `\t`), or null. */
export function parseDelimiter(text: string): Delimiter | null {
  if (text === '\t' || /^(tab|\\t)$/i.test(text)) return '\t';
  return (DELIMITERS as readonly string[]).includes(text) ? (text as Delimiter) : null;
}

/** A separator as messages and the progress log show it: `';'`, `tab`. */
export const delimiterLabel = (d: Delimiter): string => (d === '\t' ? 'tab' : `'${d}'`);

/** A file that cannot be decoded: `offset` is the first byte that is not valid in any encoding tried (as UTF-8 when several were). */
export class DecodeError extends Error {
  override name = 'DecodeError';
  constructor(
    readonly offset: number,
    readonly tried: Encoding[],
    readonly reason: string,
  ) {
    super(`${reason} at byte offset ${offset} (tried ${tried.map((e) => ENCODING_LABEL[e]).join(', ')})`);
  }
}

/** The bytes of `file`, gunzipped when `gzip`; zlib errors pass through (Z_* codes). */
function openBytes(file: string, gzip: boolean): Readable {
  const input = createReadStream(file, { highWaterMark: 1 << 20 });
  if (!gzip) return input;
  const gunzip = createGunzip();
  input.on('error', (e) => gunzip.destroy(e));
  return input.pipe(gunzip);
}

function bomOf(b: Buffer): { encoding: Encoding; length: number } | null {
  if (b.length >= 3 && b[0] === 0xef && b[1] === 0xbb && b[2] === 0xbf) return { encoding: 'utf-8', length: 3 };
  if (b.length >= 2 && b[0] === 0xff && b[1] === 0xfe) return { encoding: 'utf-16le', length: 2 };
  if (b.length >= 2 && b[0] === 0xfe && b[1] === 0xff) return { encoding: 'utf-16be', length: 2 };
  return null;
}

/** UTF-16 without a BOM: text of ASCII letters has a zero in every other byte. */
function utf16Pattern(b: Buffer): Encoding | null {
  const n = Math.min(b.length, 4096) & ~1;
  if (n < 8) return null;
  let evenZero = 0;
  let oddZero = 0;
  for (let i = 0; i < n; i += 2) {
    if (b[i] === 0) evenZero++;
    if (b[i + 1] === 0) oddZero++;
  }
  const pairs = n / 2;
  if (oddZero > pairs * 0.4 && evenZero < pairs * 0.05) return 'utf-16le';
  if (evenZero > pairs * 0.4 && oddZero < pairs * 0.05) return 'utf-16be';
  return null;
}

/** Length of the UTF-8 sequence at b[i] when it is valid and complete, 0 when invalid, -1 when cut off by the end of `b`. */
function utf8Sequence(b: Buffer, i: number): number {
  const c = b[i]!;
  if (c < 0x80) return 1;
  let len: number;
  let min2 = 0x80;
  let max2 = 0xbf;
  if (c >= 0xc2 && c <= 0xdf) len = 2;
  else if (c >= 0xe0 && c <= 0xef) {
    len = 3;
    if (c === 0xe0) min2 = 0xa0;
    if (c === 0xed) max2 = 0x9f;
  } else if (c >= 0xf0 && c <= 0xf4) {
    len = 4;
    if (c === 0xf0) min2 = 0x90;
    if (c === 0xf4) max2 = 0x8f;
  } else return 0;
  for (let k = 1; k < len; k++) {
    if (i + k >= b.length) return -1;
    const t = b[i + k]!;
    if (k === 1 ? t < min2 || t > max2 : t < 0x80 || t > 0xbf) return 0;
  }
  return len;
}

/** UTF-8 statistics of a byte stream: the first invalid offset, valid multi-byte sequences and invalid bytes. */
class Utf8Scan {
  firstInvalid = -1;
  multibyte = 0;
  invalid = 0;
  private carry = Buffer.alloc(0);
  private base = 0;

  push(chunk: Buffer, last = false): void {
    const b = this.carry.length ? Buffer.concat([this.carry, chunk]) : chunk;
    let i = 0;
    while (i < b.length) {
      if (b[i]! < 0x80) {
        i++;
        continue;
      }
      const len = utf8Sequence(b, i);
      if (len === -1 && !last) break;
      if (len > 0) {
        this.multibyte++;
        i += len;
      } else {
        if (this.firstInvalid < 0) this.firstInvalid = this.base + i;
        this.invalid++;
        i++;
      }
    }
    this.carry = Buffer.from(b.subarray(i));
    this.base += i;
  }
}

const GB18030_DECODER = new TextDecoder('gb18030');

/** GB18030 structure and score: well formed, and the share of its characters that are common (GB2312 level 1, punctuation). */
class Gb18030Scan {
  /** Offset of the first byte that breaks the structure (a control character counts), or -1. */
  firstInvalid = -1;
  common = 0;
  chars = 0;
  private carry = Buffer.alloc(0);
  private base = 0;

  get valid(): boolean {
    return this.firstInvalid < 0;
  }

  push(chunk: Buffer, last = false): void {
    if (!this.valid) return;
    const b = this.carry.length ? Buffer.concat([this.carry, chunk]) : chunk;
    let i = 0;
    const fail = () => {
      this.firstInvalid = this.base + i;
    };
    while (i < b.length) {
      const c = b[i]!;
      if (c < 0x80) {
        if (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) return fail();
        i++;
        continue;
      }
      if (c === 0x80) {
        // Windows code page 936 writes the euro sign as one byte; GB18030 decoders read it so.
        i++;
        continue;
      }
      if (c === 0xff) return fail();
      if (i + 1 >= b.length) break;
      const t = b[i + 1]!;
      if (t >= 0x30 && t <= 0x39) {
        if (i + 3 >= b.length) break;
        const t3 = b[i + 2]!;
        const t4 = b[i + 3]!;
        if (t3 < 0x81 || t3 > 0xfe || t4 < 0x30 || t4 > 0x39) return fail();
        this.chars++;
        // Four bytes hold what GB2312 lacks, e.g. the accented letters of foreign names (São Paulo): those are plausible.
        if (/^[\p{Script=Latin}\p{Script=Cyrillic}\p{Script=Greek}]$/u.test(GB18030_DECODER.decode(b.subarray(i, i + 4)))) this.common++;
        i += 4;
        continue;
      }
      if (t < 0x40 || t === 0x7f || t === 0xff) return fail();
      this.chars++;
      if (((c >= 0xb0 && c <= 0xd7) || (c >= 0xa1 && c <= 0xa9)) && t >= 0xa1) this.common++;
      i += 2;
    }
    this.carry = Buffer.from(b.subarray(i));
    this.base += i;
    if (last && this.carry.length) fail();
  }

  get score(): number {
    return this.chars ? this.common / this.chars : 0;
  }
}

/** Windows-1251 score: the share of non-ASCII characters in well-formed Cyrillic words; control characters rule it out. */
class Cp1251Scan {
  valid = true;
  good = 0;
  total = 0;
  private decoder = new TextDecoder('windows-1251');
  private word = '';

  push(chunk: Buffer, last = false): void {
    if (!this.valid) return;
    const text = this.decoder.decode(chunk, { stream: !last });
    for (const ch of text) {
      const code = ch.codePointAt(0)!;
      if ((code < 0x20 && code !== 0x09 && code !== 0x0a && code !== 0x0d) || (code >= 0x7f && code <= 0x9f)) {
        this.valid = false;
        return;
      }
      if (code >= 0x400 && code <= 0x4ff) {
        this.word += ch;
        continue;
      }
      this.endWord();
      if (code >= 0x80) {
        this.total++;
        // Punctuation Russian text uses: « » — – „ “ ” № NBSP … €.
        if ('«»—–„“”№\u00a0…€'.includes(ch)) this.good++;
      }
    }
    if (last) this.endWord();
  }

  private endWord(): void {
    const w = this.word;
    if (!w) return;
    this.word = '';
    this.total += w.length;
    // Russian, Ukrainian and Belarusian letters only (Serbian and Macedonian ones such as Ѓ Ђ Љ are
    // what other encodings' bytes look like in Windows-1251), in one of the three letter cases.
    if (!/^[А-яЁёІіЇїЄєҐґЎў]+$/.test(w)) return;
    const rest = w.slice(1);
    const lower = (s: string) => s === s.toLowerCase();
    const upper = (s: string) => s === s.toUpperCase();
    if (lower(w) || upper(w) || lower(rest)) this.good += w.length;
  }

  get score(): number {
    return this.total ? this.good / this.total : 0;
  }
}

export interface Detected {
  encoding: Encoding;
  /** How it was found: from a byte-order mark, the bytes, or stated by the user. */
  how: 'bom' | 'detected' | 'stated';
}

/** `b` split before a UTF-8 sequence that the end of `b` cuts off (the next chunk completes it). */
function splitIncomplete(b: Buffer): [Buffer, Buffer] {
  for (let k = 1; k <= Math.min(3, b.length); k++) {
    const c = b[b.length - k]!;
    if (c < 0x80) break;
    if (c >= 0xc0) {
      const len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : 2;
      return len > k ? [b.subarray(0, b.length - k), b.subarray(b.length - k)] : [b, Buffer.alloc(0)];
    }
  }
  return [b, Buffer.alloc(0)];
}

type Chunks = AsyncIterator<Buffer>;

/** True when the rest of the stream, after `head`, is valid UTF-8 too (stops reading at the first chunk that is not). */
async function isUtf8Rest(chunks: Chunks, head: Buffer): Promise<boolean> {
  let carry = Buffer.alloc(0);
  const check = (chunk: Buffer): boolean => {
    const [complete, tail] = splitIncomplete(carry.length ? Buffer.concat([carry, chunk]) : chunk);
    carry = Buffer.from(tail);
    return isUtf8(complete);
  };
  try {
    if (!check(head)) return false;
    for (let r = await chunks.next(); !r.done; r = await chunks.next()) if (!check(r.value)) return false;
    return carry.length === 0;
  } finally {
    await chunks.return?.();
  }
}

/**
 * The encoding of a file's bytes (gunzipped when `gzip`): see the module comment. A UTF-8 file is read to the end.
 * With a `stated` encoding nothing is guessed: the bytes are checked against it (UTF-8 and
 * GB18030 here, the others when they are decoded). Throws DecodeError when no encoding fits;
 * zlib errors (a damaged .gz) pass through.
 */
export async function detectEncoding(file: string, gzip: boolean, stated?: Encoding): Promise<Detected> {
  const chunks = openBytes(file, gzip)[Symbol.asyncIterator]() as Chunks;
  const parts: Buffer[] = [];
  let size = 0;
  try {
    while (size < 4096) {
      const r = await chunks.next();
      if (r.done) break;
      parts.push(r.value);
      size += r.value.length;
    }
  } catch (e) {
    await chunks.return?.();
    throw e;
  }
  const head = Buffer.concat(parts);
  const bom = bomOf(head);
  const utf8 = () => isUtf8Rest(chunks, head);
  if (stated) {
    // "UTF-16" names no byte order: a byte-order mark tells it.
    if (stated.startsWith('utf-16') && bom?.encoding.startsWith('utf-16')) stated = bom.encoding;
    if (stated === 'utf-8' && !(await utf8())) throw new DecodeError(await firstInvalidUtf8(file, gzip), ['utf-8'], 'a byte that is not UTF-8');
    await chunks.return?.();
    if (stated === 'gb18030') {
      const gb = new Gb18030Scan();
      for await (const c of openBytes(file, gzip)) gb.push(c as Buffer);
      gb.push(Buffer.alloc(0), true);
      if (!gb.valid) throw new DecodeError(gb.firstInvalid, ['gb18030'], 'a byte that is not GB18030');
    }
    return { encoding: stated, how: 'stated' };
  }
  if (bom && bom.encoding !== 'utf-8') {
    await chunks.return?.();
    return { encoding: bom.encoding, how: 'bom' };
  }
  const u16 = bom ? null : utf16Pattern(head);
  if (u16) {
    await chunks.return?.();
    return { encoding: u16, how: 'detected' };
  }
  if (await utf8()) return { encoding: 'utf-8', how: bom ? 'bom' : 'detected' };
  if (bom) throw new DecodeError(await firstInvalidUtf8(file, gzip), ['utf-8'], 'a byte that is not UTF-8 (the file starts with a UTF-8 byte-order mark)');
  return classifyNonUtf8(file, gzip);
}

async function firstInvalidUtf8(file: string, gzip: boolean): Promise<number> {
  const scan = new Utf8Scan();
  for await (const c of openBytes(file, gzip)) scan.push(c as Buffer);
  scan.push(Buffer.alloc(0), true);
  return scan.firstInvalid;
}

/** How much of a file that is not UTF-8 is read to tell its encoding. */
const CLASSIFY_BYTES = 4 << 20;

/** Second pass over a file that is not valid UTF-8: a damaged UTF-8 file, GB18030 or Windows-1251. */
async function classifyNonUtf8(file: string, gzip: boolean): Promise<Detected> {
  const utf8 = new Utf8Scan();
  const gb = new Gb18030Scan();
  const ru = new Cp1251Scan();
  const stream = openBytes(file, gzip);
  let read = 0;
  for await (const c of stream) {
    const chunk = c as Buffer;
    utf8.push(chunk);
    gb.push(chunk);
    ru.push(chunk);
    // The first 4 MiB decide; the decoder then checks every byte of the rest as it transcodes.
    read += chunk.length;
    if (read >= CLASSIFY_BYTES) {
      stream.destroy();
      break;
    }
  }
  // Cut short: a character split at the cut is not an error.
  const whole = read < CLASSIFY_BYTES;
  const end = Buffer.alloc(0);
  utf8.push(end, whole);
  gb.push(end, whole);
  ru.push(end, whole);
  if (utf8.multibyte > 0 && utf8.multibyte >= 8 * utf8.invalid) {
    throw new DecodeError(utf8.firstInvalid, ['utf-8'], 'a damaged UTF-8 file: a byte that is not UTF-8');
  }
  const candidates: [Encoding, number][] = [];
  if (ru.valid) candidates.push(['windows-1251', ru.score]);
  if (gb.valid) candidates.push(['gb18030', gb.score]);
  if (!candidates.length) {
    throw new DecodeError(utf8.firstInvalid, ['utf-8', 'gb18030', 'windows-1251'], 'no encoding fits: the first byte that is not UTF-8 is');
  }
  // Windows-1251 first: it wins a tie (an all-capitals Russian word is also a run of common Chinese characters).
  candidates.sort((a, b) => b[1] - a[1]);
  return { encoding: candidates[0]![0], how: 'detected' };
}

/**
 * Writes `file` (gunzipped when `gzip`), decoded as `encoding`, to `out` as UTF-8 without a BOM.
 * DecodeError when the decoder refuses a byte (offset: the start of the block holding it).
 */
export async function transcodeToUtf8(file: string, gzip: boolean, encoding: Encoding, out: string): Promise<void> {
  const decoder = new TextDecoder(encoding, { fatal: true });
  const sink = createWriteStream(out);
  let offset = 0;
  try {
    for await (const c of openBytes(file, gzip)) {
      const chunk = c as Buffer;
      let text: string;
      try {
        text = decoder.decode(chunk, { stream: true });
      } catch {
        throw new DecodeError(offset, [encoding], `a byte that is not ${ENCODING_LABEL[encoding]} in the block`);
      }
      offset += chunk.length;
      if (!sink.write(text)) await new Promise((r) => sink.once('drain', r));
    }
    try {
      sink.write(decoder.decode());
    } catch {
      throw new DecodeError(offset, [encoding], `the file ends inside a ${ENCODING_LABEL[encoding]} character`);
    }
  } finally {
    sink.end();
    await finished(sink).catch(() => undefined);
  }
}

/** The separator of a header line: the candidate found most often outside quotes; `,` when none is. */
export function detectDelimiter(headerLine: string): Delimiter {
  const counts = new Map<Delimiter, number>(DELIMITERS.map((d) => [d, 0]));
  let quoted = false;
  for (const ch of headerLine) {
    if (ch === '"') quoted = !quoted;
    else if (!quoted && counts.has(ch as Delimiter)) counts.set(ch as Delimiter, counts.get(ch as Delimiter)! + 1);
  }
  let best: Delimiter = ',';
  for (const d of DELIMITERS) if (counts.get(d)! > counts.get(best)!) best = d;
  return best;
}
