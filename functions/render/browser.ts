/**
 * Chromium for PDF rendering: puppeteer-core driving @sparticuz/chromium's headless_shell (the
 * same binary locally, in CI and on Lambda; keep the package external to any bundle and pinned to
 * the Chrome major of puppeteer-core: puppeteer-core 24.43.1 -> Chrome 148 -> @sparticuz/chromium 148).
 *
 * Safety: the page runs with JavaScript disabled, and every request is intercepted: only the
 * report document itself (served from memory under a reserved origin) and data: URLs inlined by
 * the renderer are allowed; every network URL and every file:// URL is aborted and recorded.
 * Every render runs under a timeout; its page is closed in `finally` unless the render completed,
 * when it is kept for the browser's next render (its browser is closed when the render launched it).
 */
import chromium from '@sparticuz/chromium';
import puppeteer, { type Browser, type HTTPRequest, type Page, type PDFOptions } from 'puppeteer-core';

/** The page's own origin: `.invalid` is reserved (RFC 2606), so it can never reach a real host. */
export const REPORT_ORIGIN = 'http://report.invalid';
export const REPORT_URL = `${REPORT_ORIGIN}/report.html`;

export class RenderTimeoutError extends Error {
  override name = 'RenderTimeoutError';
}
export class BrowserLaunchError extends Error {
  override name = 'BrowserLaunchError';
}

/**
 * Flags added to puppeteer's defaults (which already disable background networking, sync,
 * extensions, crash reporting, and turn on tagged PDF and the document outline).
 */
export const LAUNCH_ARGS: readonly string[] = [
  // Lambda and CI containers run as root without user namespaces, where Chromium's sandbox cannot
  // start. What keeps the page harmless instead: JavaScript off and every request intercepted.
  '--no-sandbox',
  // The zygote pre-forks sandboxed renderers; with no sandbox it is only an extra process.
  '--no-zygote',
  // Lambda's /dev/shm is tiny and Docker's is 64 MB: put shared memory files in /tmp.
  '--disable-dev-shm-usage',
  // No GPU exists on Lambda or in CI: rasterise in software without probing for one.
  '--disable-gpu',
  // Lay text out with unhinted metrics so line breaks do not depend on the host's font settings.
  '--font-render-hinting=none',
  // The renderer must make no requests of its own: no hyperlink auditing pings, no reliability
  // beacons, no component updates.
  '--no-pings',
  '--disable-domain-reliability',
  '--disable-component-update',
  // A fixed colour profile, so colours in the PDF are the same on every host.
  '--force-color-profile=srgb',
  // On Lambda only: one process, as in Sparticuz's tested Lambda configuration; it fits the
  // memory limit and the missing sandbox. Elsewhere several pages may render in parallel.
  ...(process.env.AWS_LAMBDA_FUNCTION_NAME ? ['--single-process'] : []),
];

export interface LaunchOptions {
  /** Milliseconds to wait for the browser to start. */
  timeoutMs?: number;
}

/** Path of the Chromium binary: CHROMIUM_EXECUTABLE_PATH when set, else Sparticuz's (unpacked to /tmp once). */
export async function chromiumPath(): Promise<string> {
  const fromEnv = process.env.CHROMIUM_EXECUTABLE_PATH;
  if (fromEnv) return fromEnv;
  // WebGL is never needed for a PDF: skip unpacking SwiftShader.
  chromium.setGraphicsMode = false;
  return chromium.executablePath();
}

export async function launchBrowser(opts: LaunchOptions = {}): Promise<Browser> {
  const executablePath = await chromiumPath();
  try {
    return await puppeteer.launch({
      executablePath,
      // headless_shell: the binary Sparticuz ships has no headful mode.
      headless: 'shell',
      args: [...LAUNCH_ARGS],
      timeout: opts.timeoutMs ?? 30_000,
      // Never inherit the caller's stdin/stdout; Chromium's own logs are not ours to print.
      dumpio: false,
      // A4 at 96 dpi: the screen layout and the print layout agree.
      defaultViewport: { width: 794, height: 1123, deviceScaleFactor: 1 },
    });
  } catch (e) {
    throw new BrowserLaunchError(
      `could not start Chromium (${executablePath}): ${(e as Error).message}. On Debian/Ubuntu it needs libnss3 (apt-get install libnss3).`,
      { cause: e },
    );
  }
}

/** Closes the browser; kills the process when it does not close within `graceMs`. */
export async function closeBrowser(browser: Browser, graceMs = 5_000): Promise<void> {
  const proc = browser.process();
  let timer: NodeJS.Timeout | undefined;
  try {
    await Promise.race([
      browser.close(),
      new Promise((resolve) => {
        timer = setTimeout(resolve, graceMs);
      }),
    ]);
  } catch {
    // closing a browser that already crashed: fall through to the kill below
  } finally {
    clearTimeout(timer);
    if (proc && proc.exitCode === null && proc.signalCode === null) proc.kill('SIGKILL');
  }
}

export interface PdfOptions {
  /** Milliseconds for the whole render (load, fonts, PDF). */
  timeoutMs?: number;
  /** Extra page.pdf options (the defaults below apply otherwise). */
  pdf?: PDFOptions;
}

export interface PdfResult {
  pdf: Uint8Array;
  /** URLs the page tried to load and was refused. */
  blocked: string[];
}

/** Runs `fn` under a timeout; on timeout rejects with RenderTimeoutError and calls `onTimeout`. */
export async function withTimeout<T>(ms: number, what: string, fn: () => Promise<T>, onTimeout?: () => void | Promise<void>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      void Promise.resolve(onTimeout?.()).catch(() => undefined);
      reject(new RenderTimeoutError(`${what} took longer than ${ms} ms`));
    }, ms);
  });
  try {
    return await Promise.race([fn(), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

/** What a locked-down page serves and records: the document of the render under way, and the URLs it refused. */
interface Serving {
  html: string;
  blocked: string[];
}

function allowRequest(req: HTTPRequest, serving: Serving): void {
  const url = req.url();
  const { html, blocked } = serving;
  if (url === REPORT_URL && req.isNavigationRequest()) {
    void req.respond({ status: 200, contentType: 'text/html; charset=utf-8', body: html });
  } else if (url.startsWith('data:')) {
    void req.continue();
  } else {
    blocked.push(url);
    void req.abort('blockedbyclient');
  }
}

/** A new page with JavaScript off and every request going through `allowRequest` with what `serving` holds at the time. */
async function lockedPage(browser: Browser, serving: Serving): Promise<Page> {
  const page = await browser.newPage();
  try {
    await page.setJavaScriptEnabled(false);
    await page.setRequestInterception(true);
    page.on('request', (req) => allowRequest(req, serving));
    return page;
  } catch (e) {
    await page.close().catch(() => undefined);
    throw e;
  }
}

/** Loads the final HTML into a fresh, locked-down page. The caller closes the page. */
export async function loadHtml(browser: Browser, html: string, blocked: string[] = []): Promise<Page> {
  const page = await lockedPage(browser, { html, blocked });
  try {
    await page.goto(REPORT_URL, { waitUntil: 'load' });
    return page;
  } catch (e) {
    await page.close().catch(() => undefined);
    throw e;
  }
}

/**
 * Locked-down pages of a browser kept for the next render: a page is set up once (about 50 ms)
 * and a reused page loads the next report about twice as fast as a fresh one, which is most of a
 * burst's cost. A page goes back only after a render that completed, and at most MAX_PAGE_USES
 * times; one that failed or timed out is closed. Each render navigates anew (the HTTP cache is off under interception), so nothing of
 * one report is left in the next.
 */
const idlePages = new WeakMap<Browser, { page: Page; serving: Serving; uses: number }[]>();
const MAX_IDLE_PAGES = 4;
/**
 * A page's renderer keeps about 17 MB of each report it loaded (measured with 50 team reports:
 * 880 MB per page at the end); after this many reports the page is closed and its renderer with it.
 */
const MAX_PAGE_USES = 6;

export const DEFAULT_PDF_OPTIONS: PDFOptions = {
  format: 'A4',
  // The templates set margins, header and footer with CSS @page rules (margin boxes).
  preferCSSPageSize: true,
  printBackground: true,
  displayHeaderFooter: false,
  outline: true,
  tagged: true,
  waitForFonts: true,
};

/**
 * HTML to PDF in a locked-down page of `browser`: an idle one of an earlier render, or a new one.
 * After a completed render the page is kept for the next; otherwise (error, timeout) it is closed.
 */
export async function htmlToPdf(browser: Browser, html: string, opts: PdfOptions = {}): Promise<PdfResult> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  const blocked: string[] = [];
  let slot: { page: Page; serving: Serving; uses: number } | undefined;
  let done = false;
  try {
    return await withTimeout(timeoutMs, 'PDF rendering', async () => {
      const s = idlePages.get(browser)?.pop() ?? (await (async () => {
        const serving: Serving = { html: '', blocked: [] };
        return { page: await lockedPage(browser, serving), serving, uses: 0 };
      })());
      slot = s;
      s.uses += 1;
      s.serving.html = html;
      s.serving.blocked = blocked;
      await s.page.goto(REPORT_URL, { waitUntil: 'load' });
      const pdf = await s.page.pdf({ ...DEFAULT_PDF_OPTIONS, timeout: timeoutMs, ...opts.pdf });
      done = true;
      return { pdf, blocked };
    });
  } finally {
    // The page may still be loading when the timeout fires: close it.
    const s = slot as { page: Page; serving: Serving; uses: number } | undefined;
    if (s) {
      s.serving.html = '';
      s.serving.blocked = [];
      const idle = idlePages.get(browser) ?? [];
      if (done && s.uses < MAX_PAGE_USES && !s.page.isClosed() && browser.connected && idle.length < MAX_IDLE_PAGES) {
        idle.push(s);
        idlePages.set(browser, idle);
      } else await s.page.close().catch(() => undefined);
    }
  }
}

/** Launches a browser, runs `fn`, and always closes the browser (killing it on timeout). */
export async function withBrowser<T>(fn: (browser: Browser) => Promise<T>, opts: { timeoutMs?: number; launch?: () => Promise<Browser> } = {}): Promise<T> {
  const timeoutMs = opts.timeoutMs ?? 60_000;
  let browser: Browser | undefined;
  let timedOut = false;
  try {
    return await withTimeout(
      timeoutMs,
      'report rendering',
      async () => {
        const b = await (opts.launch ?? launchBrowser)();
        // The timeout fired while Chromium was starting: nobody else will close this one.
        if (timedOut) {
          await closeBrowser(b);
          throw new RenderTimeoutError('report rendering timed out while Chromium was starting');
        }
        browser = b;
        return fn(b);
      },
      () => {
        timedOut = true;
        return browser ? closeBrowser(browser, 1_000) : undefined;
      },
    );
  } finally {
    const b = browser as Browser | undefined;
    if (b) await closeBrowser(b);
  }
}
