/**
 * Reads a PDF's text the way a reader's tools would (pdfjs-dist): per page, each text run with
 * the name of the font it is drawn in and whether that font is embedded.
 */
import { getDocument, type PDFDocumentProxy } from 'pdfjs-dist/legacy/build/pdf.mjs';

export interface TextRun {
  str: string;
  font: string;
  embedded: boolean;
}

export interface PdfPage {
  runs: TextRun[];
  /** The page's text in reading order, line ends as spaces, whitespace (no-break spaces too) collapsed. */
  text: string;
}

export interface PdfInfo {
  pages: PdfPage[];
  title: string | undefined;
  outline: string[];
  tagged: boolean;
  pageSizes: { width: number; height: number }[];
}

export function normalizeSpace(s: string): string {
  return s.replace(/\s+/gu, ' ').trim();
}

async function outlineTitles(doc: PDFDocumentProxy): Promise<string[]> {
  const out: string[] = [];
  const walk = (items: { title: string; items?: unknown[] }[] | null) => {
    for (const i of items ?? []) {
      out.push(i.title);
      walk(i.items as { title: string; items?: unknown[] }[]);
    }
  };
  walk((await doc.getOutline()) as { title: string; items?: unknown[] }[] | null);
  return out;
}

export async function readPdf(bytes: Uint8Array): Promise<PdfInfo> {
  const doc = await getDocument({ data: new Uint8Array(bytes), disableFontFace: true, useSystemFonts: false, fontExtraProperties: true, verbosity: 0 }).promise;
  try {
    const pages: PdfPage[] = [];
    const pageSizes: PdfInfo['pageSizes'] = [];
    for (let p = 1; p <= doc.numPages; p++) {
      const page = await doc.getPage(p);
      const [x0, y0, x1, y1] = page.view;
      pageSizes.push({ width: x1! - x0!, height: y1! - y0! });
      await page.getOperatorList(); // loads the page's fonts into commonObjs
      const content = await page.getTextContent();
      const runs: TextRun[] = [];
      let text = '';
      for (const item of content.items) {
        if (!('str' in item)) continue;
        text += item.str + (item.hasEOL ? ' ' : '');
        if (item.str === '') continue;
        const font = page.commonObjs.get(item.fontName) as { name?: string; missingFile?: boolean } | undefined;
        runs.push({ str: item.str, font: font?.name ?? item.fontName, embedded: font ? !font.missingFile : false });
      }
      pages.push({ runs, text: normalizeSpace(text) });
    }
    const meta = await doc.getMetadata();
    const info = meta.info as { Title?: string };
    const markInfo = await doc.getMarkInfo();
    return { pages, title: info.Title, outline: await outlineTitles(doc), tagged: Boolean(markInfo?.Marked), pageSizes };
  } finally {
    await doc.destroy();
  }
}
