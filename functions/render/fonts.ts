/**
 * Embedded fonts: Noto Sans (Latin, Cyrillic, Greek...) and Noto Sans SC (Chinese) from
 * @fontsource, inlined into the report as base64 @font-face rules. Only the woff2 subsets that
 * hold a glyph for a character the page actually uses are inlined, so a Chinese report carries a
 * few hundred KB of font, not 3.5 MB, and no font file is ever fetched at render time.
 *
 * Coverage is decided from each subset's real `cmap` table (read out of the woff2), not from its
 * CSS unicode-range, so `uncoveredChars` can say exactly which characters would draw as a box.
 *
 * The render (`subsetFontFaceCss`) goes one step further: each chosen file is cut down with
 * HarfBuzz (subset-font) to the glyphs of the code points the page uses, which makes the page
 * 3-5 times lighter for Chromium to load (en: 391 KB of base64 font -> about 110 KB). The cuts are
 * cached per process by (file, code points), so a burst of reports drawing the same characters
 * subsets each file once.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { brotliDecompressSync } from 'node:zlib';
import subsetFont from 'subset-font';

export interface FontFace {
  family: string;
  weight: number;
  file: string;
  /** Parsed CSS unicode-range, as inclusive [start, end] pairs. */
  ranges: [number, number][];
  unicodeRange: string;
}

/** The families and weights the templates may use. Other weights fall back to these. */
export const FONT_FAMILIES = [
  { pkg: '@fontsource/noto-sans', family: 'Noto Sans' },
  { pkg: '@fontsource/noto-sans-sc', family: 'Noto Sans SC' },
] as const;
export const FONT_WEIGHTS = [400, 700] as const;

const require = createRequire(import.meta.url);
let facesCache: FontFace[] | undefined;
const cmapCache = new Map<string, Set<number>>();
const base64Cache = new Map<string, string>();

function parseRanges(text: string): [number, number][] {
  return text.split(',').map((part) => {
    const [a, b] = part.trim().replace(/^U\+/i, '').split('-');
    const start = parseInt(a!, 16);
    return [start, b ? parseInt(b, 16) : start];
  });
}

/** Every @font-face of the chosen families and weights, read from @fontsource's CSS files. */
export function fontFaces(): FontFace[] {
  if (facesCache) return facesCache;
  const faces: FontFace[] = [];
  for (const { pkg, family } of FONT_FAMILIES) {
    const dir = dirname(require.resolve(`${pkg}/package.json`));
    for (const weight of FONT_WEIGHTS) {
      const css = readFileSync(join(dir, `${weight}.css`), 'utf8');
      for (const block of css.split('@font-face').slice(1)) {
        const src = /url\(\.\/(files\/[^)]+\.woff2)\)/.exec(block);
        const range = /unicode-range:\s*([^;]+);/.exec(block);
        if (!src || !range) continue;
        faces.push({ family, weight, file: join(dir, src[1]!), ranges: parseRanges(range[1]!), unicodeRange: range[1]!.trim() });
      }
    }
  }
  facesCache = faces;
  return faces;
}

function readBase128(buf: Buffer, pos: { p: number }): number {
  let value = 0;
  for (let i = 0; i < 5; i++) {
    const byte = buf[pos.p++]!;
    value = value * 128 + (byte & 0x7f);
    if ((byte & 0x80) === 0) return value;
  }
  throw new Error('bad UIntBase128');
}

/** The code points a woff2 font maps to a real glyph (glyph id != 0), from its cmap table. */
export function woff2Cmap(file: string): Set<number> {
  const cached = cmapCache.get(file);
  if (cached) return cached;
  const buf = readFileSync(file);
  if (buf.toString('latin1', 0, 4) !== 'wOF2') throw new Error(`${file}: not a woff2 font`);
  const numTables = buf.readUInt16BE(12);
  const totalCompressedSize = buf.readUInt32BE(20);
  const pos = { p: 48 };
  const tables: { tag: number; length: number }[] = [];
  for (let i = 0; i < numTables; i++) {
    const flags = buf[pos.p++]!;
    const tag = flags & 0x3f;
    if (tag === 63) pos.p += 4; // arbitrary tag follows
    const transform = flags >> 6;
    const origLength = readBase128(buf, pos);
    // glyf (10) and loca (11) are transformed unless version 3; any other table unless version 0.
    const transformed = tag === 10 || tag === 11 ? transform !== 3 : transform !== 0;
    const length = transformed ? readBase128(buf, pos) : origLength;
    tables.push({ tag, length });
  }
  const data = brotliDecompressSync(buf.subarray(pos.p, pos.p + totalCompressedSize));
  let offset = 0;
  let cmap: Buffer | undefined;
  for (const t of tables) {
    if (t.tag === 0) cmap = data.subarray(offset, offset + t.length);
    offset += t.length;
  }
  if (!cmap) throw new Error(`${file}: no cmap table`);
  const set = parseCmap(cmap);
  cmapCache.set(file, set);
  return set;
}

function parseCmap(c: Buffer): Set<number> {
  const out = new Set<number>();
  const n = c.readUInt16BE(2);
  const subtables: { pid: number; eid: number; off: number }[] = [];
  for (let i = 0; i < n; i++) subtables.push({ pid: c.readUInt16BE(4 + i * 8), eid: c.readUInt16BE(6 + i * 8), off: c.readUInt32BE(8 + i * 8) });
  const pick = (format: number) => subtables.find((s) => c.readUInt16BE(s.off) === format && (s.pid === 3 || s.pid === 0));
  const f12 = pick(12);
  if (f12) {
    const groups = c.readUInt32BE(f12.off + 12);
    for (let g = 0; g < groups; g++) {
      const o = f12.off + 16 + g * 12;
      const start = c.readUInt32BE(o);
      const end = c.readUInt32BE(o + 4);
      const glyph = c.readUInt32BE(o + 8);
      for (let cp = start; cp <= end; cp++) if (glyph + (cp - start) !== 0) out.add(cp);
    }
    return out;
  }
  const f4 = pick(4);
  if (!f4) return out;
  const o = f4.off;
  const segX2 = c.readUInt16BE(o + 6);
  const ends = o + 14;
  const starts = ends + segX2 + 2;
  const deltas = starts + segX2;
  const rangeOffsets = deltas + segX2;
  for (let s = 0; s < segX2 / 2; s++) {
    const end = c.readUInt16BE(ends + s * 2);
    const start = c.readUInt16BE(starts + s * 2);
    const delta = c.readInt16BE(deltas + s * 2);
    const ro = c.readUInt16BE(rangeOffsets + s * 2);
    for (let cp = start; cp <= end && cp !== 0xffff; cp++) {
      let glyph: number;
      if (ro === 0) glyph = (cp + delta) & 0xffff;
      else {
        const at = rangeOffsets + s * 2 + ro + (cp - start) * 2;
        glyph = at + 1 < c.length ? c.readUInt16BE(at) : 0;
        if (glyph !== 0) glyph = (glyph + delta) & 0xffff;
      }
      if (glyph !== 0) out.add(cp);
    }
  }
  return out;
}

function inRanges(cp: number, ranges: [number, number][]): boolean {
  for (const [a, b] of ranges) if (cp >= a && cp <= b) return true;
  return false;
}

/** Code points that need a glyph: everything but controls and ordinary spaces. */
export function codePointsOf(text: string): Set<number> {
  const out = new Set<number>();
  // A page is hundreds of KB of mostly ASCII markup: ASCII is ticked off in an array, as a Set
  // insert per character costs a few ms per report.
  const ascii = new Uint8Array(0x80);
  for (let i = 0; i < text.length; i++) {
    const unit = text.charCodeAt(i);
    if (unit < 0x80) {
      ascii[unit] = 1;
      continue;
    }
    const cp = text.codePointAt(i)!;
    if (cp > 0xffff) i++;
    if (cp <= 0xa0 || cp === 0x200b || cp === 0xfeff) continue;
    out.add(cp);
  }
  for (let cp = 0x21; cp < 0x7f; cp++) if (ascii[cp]) out.add(cp);
  return out;
}

/** Family order of the page's font stack: Chinese pages draw Latin with Noto Sans SC too. */
export function familyOrder(locale?: string): string[] {
  const all = FONT_FAMILIES.map((f) => f.family as string);
  return locale === 'zh-CN' ? ['Noto Sans SC', ...all.filter((f) => f !== 'Noto Sans SC')] : all;
}

/**
 * The faces (both weights) the browser will actually use for these code points: for each code
 * point, the subset of the first family in the stack that has a glyph for it, as CSS font
 * fallback picks it. A code point Noto Sans covers never pulls in a Noto Sans SC subset.
 */
export function facesFor(codePoints: Set<number>, families: string[] = familyOrder()): FontFace[] {
  const faces = fontFaces();
  const chosen = new Set<string>(); // family|subset file name without weight
  const subsetKey = (f: FontFace) => `${f.family}|${f.file.replace(/-\d00-normal\.woff2$/, '')}`;
  for (const cp of codePoints) {
    for (const family of families) {
      const hit = faces.find((f) => f.family === family && f.weight === FONT_WEIGHTS[0] && inRanges(cp, f.ranges) && woff2Cmap(f.file).has(cp));
      if (hit) {
        chosen.add(subsetKey(hit));
        break;
      }
    }
  }
  return faces.filter((f) => chosen.has(subsetKey(f)));
}

/** Code points no embedded font has a glyph for: these would draw as an empty box. */
export function uncoveredChars(codePoints: Set<number>): string[] {
  const missing: string[] = [];
  for (const cp of codePoints) {
    const covered = fontFaces().some((f) => inRanges(cp, f.ranges) && woff2Cmap(f.file).has(cp));
    if (!covered) missing.push(String.fromCodePoint(cp));
  }
  return missing;
}

/** All code points a family (any weight, any subset) has a glyph for. Used by the glyph test. */
export function familyCoverage(family: string): Set<number> {
  const out = new Set<number>();
  for (const f of fontFaces()) if (f.family === family) for (const cp of woff2Cmap(f.file)) out.add(cp);
  return out;
}

/** @font-face rules with base64 woff2 for the subsets `text` needs, for a page in `locale`. */
export function fontFaceCss(text: string, locale?: string): string {
  return facesFor(codePointsOf(text), familyOrder(locale))
    .map((f) => {
      let b64 = base64Cache.get(f.file);
      if (!b64) {
        b64 = readFileSync(f.file).toString('base64');
        base64Cache.set(f.file, b64);
      }
      return `@font-face{font-family:'${f.family}';font-style:normal;font-weight:${f.weight};font-display:block;src:url(data:font/woff2;base64,${b64}) format('woff2');unicode-range:${f.unicodeRange};}`;
    })
    .join('\n');
}

/**
 * Code points kept in every cut of a file that has them, whether or not the text uses them:
 * printable ASCII, which CSS-generated content (page counters in the margin boxes) may draw
 * without its digits appearing in the document's text, and the spaces `codePointsOf` leaves out
 * (a cut without them would space words with another font's glyph, and break lines elsewhere).
 */
const ALWAYS_KEPT = [...Array.from({ length: 0x7e - 0x20 + 1 }, (_, i) => 0x20 + i), 0xa0, 0x200b, 0xfeff];
/** (file, code points) -> base64 of the cut font; the oldest entry goes beyond this many. */
const SUBSET_CACHE_MAX = 256;
const subsetCache = new Map<string, Promise<string>>();

/** Forgets every cut font (the bench measures a render that has to cut them). */
export function clearSubsetCache(): void {
  subsetCache.clear();
}

/**
 * The code points and their upper- and lower-case forms: the stylesheet's `text-transform`
 * draws letters the text itself does not hold (a Russian table header in capitals).
 */
function withCaseForms(codePoints: Set<number>): Set<number> {
  const out = new Set(codePoints);
  for (const cp of codePoints) {
    const ch = String.fromCodePoint(cp);
    for (const form of [ch.toUpperCase(), ch.toLowerCase()]) for (const c of form) out.add(c.codePointAt(0)!);
  }
  return out;
}

/** Base64 of `file` cut to the glyphs of `codePoints` (sorted), as a TrueType font; cached. */
function subsetBase64(file: string, codePoints: number[]): Promise<string> {
  const key = `${file}|${codePoints.join(',')}`;
  const hit = subsetCache.get(key);
  if (hit) {
    // Most recently used last: the Map's insertion order is the eviction order.
    subsetCache.delete(key);
    subsetCache.set(key, hit);
    return hit;
  }
  // TrueType, not woff2: compressing woff2 costs 10 times the cut itself, and Chromium decodes
  // the smaller uncompressed font about as fast.
  const cut = subsetFont(readFileSync(file), String.fromCodePoint(...codePoints), { targetFormat: 'truetype' }).then((b) => b.toString('base64'));
  subsetCache.set(key, cut);
  cut.catch(() => subsetCache.delete(key));
  while (subsetCache.size > SUBSET_CACHE_MAX) subsetCache.delete(subsetCache.keys().next().value!);
  return cut;
}

/**
 * @font-face rules for the page `text` makes in `locale`: the same faces as `fontFaceCss`, each
 * cut to the glyphs of the code points of `text` it covers (plus ALWAYS_KEPT), with the same
 * unicode-range, so the browser picks the same face for every character and draws the same glyph.
 */
export async function subsetFontFaceCss(text: string, locale?: string): Promise<string> {
  const codePoints = codePointsOf(text);
  const rules = await Promise.all(
    facesFor(codePoints, familyOrder(locale)).map(async (f) => {
      const cmap = woff2Cmap(f.file);
      const keep = [...new Set([...withCaseForms(codePoints), ...ALWAYS_KEPT])].filter((cp) => inRanges(cp, f.ranges) && cmap.has(cp)).sort((a, b) => a - b);
      if (!keep.length) return '';
      const b64 = await subsetBase64(f.file, keep);
      return `@font-face{font-family:'${f.family}';font-style:normal;font-weight:${f.weight};font-display:block;src:url(data:font/ttf;base64,${b64}) format('truetype');unicode-range:${f.unicodeRange};}`;
    }),
  );
  return rules.filter(Boolean).join('\n');
}
