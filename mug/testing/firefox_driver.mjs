// @ts-check
// Drives Debian's Firefox ESR over WebDriver BiDi with puppeteer-core, for mug/testing/firefox.py.
//
// Protocol: one JSON object per line. Requests on stdin: {id, op, ...args}; replies on stdout:
// {id, ok: true, value} or {id, ok: false, error}; page events on stdout: {event: "console"|"pageerror",
// page, text}. The process ends when stdin closes (the browser closes with it).
//
// Ops: newPage {} -> page id (each page in a browser context of its own: its own localStorage);
// goto {page, url}; evaluate {page, expression} -> the value (JSON), promises awaited;
// waitFor {page, expression, timeout_ms}; click {page, selector}; keyDown / keyUp / press {page, key};
// closePage {page}; version {} -> the browser's version string.
//
// Usage: node firefox_driver.mjs FIREFOX_EXECUTABLE

import { createInterface } from "node:readline";
import puppeteer from "puppeteer-core";

const executablePath = process.argv[2] || "/usr/bin/firefox-esr";
const browser = await puppeteer.launch({
  browser: "firefox",
  executablePath,
  headless: true,
  // plain IP ICE candidates instead of mDNS names (peer-to-peer inside a private network namespace)
  extraPrefsFirefox: { "media.peerconnection.ice.obfuscate_host_addresses": false },
});

/** @type {Map<number, {page: import("puppeteer-core").Page, context: import("puppeteer-core").BrowserContext}>} */
const pages = new Map();
let nextPage = 0;

/** @param {object} message */
const write = (message) => process.stdout.write(JSON.stringify(message) + "\n");

/** @param {number} id */
function pageOf(id) {
  const entry = pages.get(id);
  if (!entry) throw new Error(`no page ${id}`);
  return entry.page;
}

/** @param {any} req @returns {Promise<unknown>} */
async function handle(req) {
  switch (req.op) {
    case "version":
      return await browser.version();
    case "newPage": {
      const context = await browser.createBrowserContext();
      const page = await context.newPage();
      const id = nextPage++;
      page.on("console", (m) => write({ event: "console", page: id, text: `${m.type()}: ${m.text()}` }));
      page.on("pageerror", (e) => write({ event: "pageerror", page: id, text: String(e) }));
      pages.set(id, { page, context });
      return id;
    }
    case "goto":
      await pageOf(req.page).goto(req.url);
      return null;
    case "evaluate":
      return await pageOf(req.page).evaluate(req.expression);
    case "waitFor":
      await pageOf(req.page).waitForFunction(req.expression, { timeout: req.timeout_ms, polling: 100 });
      return null;
    case "click":
      await pageOf(req.page).click(req.selector);
      return null;
    case "keyDown":
      await pageOf(req.page).keyboard.down(req.key);
      return null;
    case "keyUp":
      await pageOf(req.page).keyboard.up(req.key);
      return null;
    case "press":
      await pageOf(req.page).keyboard.press(req.key);
      return null;
    case "closePage": {
      const entry = pages.get(req.page);
      pages.delete(req.page);
      if (entry) await entry.context.close();
      return null;
    }
    default:
      throw new Error(`unknown op ${JSON.stringify(req.op)}`);
  }
}

const lines = createInterface({ input: process.stdin });
write({ event: "ready", version: await browser.version() });
for await (const line of lines) {
  if (!line.trim()) continue;
  /** @type {any} */
  let req;
  try {
    req = JSON.parse(line);
  } catch {
    write({ id: null, ok: false, error: `not JSON: ${line.slice(0, 200)}` });
    continue;
  }
  try {
    write({ id: req.id, ok: true, value: (await handle(req)) ?? null });
  } catch (err) {
    write({ id: req.id, ok: false, error: err instanceof Error ? err.message : String(err) });
  }
}
await browser.close();
