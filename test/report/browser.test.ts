/**
 * The report in a real browser: the system Chromium (Debian's `chromium`, which .ci/run
 * installs), headless through puppeteer-core. Each page must open from its file with no console
 * error or warning, no page error and no request but the file itself; its plots must be drawn
 * (uPlot canvases) and its SVG must hold the network's nodes. A screenshot of each goes to
 * test-output/report/ (its path printed). Without Chromium the tests skip, saying why.
 */
import { existsSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Browser } from 'puppeteer-core';
import { buildReportHtml } from '../../src/report/html.js';
import { repoRoot } from '../support/paths.js';
import { titled } from '../support/skip.js';
import { replayReport, runReport, type MadeReport } from './reports.js';
import { hostileData } from './hostile.js';

const CHROMIUM = [process.env.XDPLAB_CHROMIUM, '/usr/bin/chromium', '/usr/bin/chromium-browser'].find((p) => p !== undefined && existsSync(p));
const why = CHROMIUM ? undefined : 'no Chromium at /usr/bin/chromium (Debian: apt-get install chromium; or set XDPLAB_CHROMIUM)';
if (why) console.log(`report browser tests skipped: ${why}`);
const SHOTS = path.join(repoRoot, 'test-output', 'report');

interface Opened {
  problems: string[];
  canvases: number;
  nodes: string[];
  pwned: boolean;
}

/** Open a report file headless; what went wrong, what was drawn; a full-page screenshot. */
async function open(browser: Browser, file: string, shot: string): Promise<Opened> {
  const page = await browser.newPage();
  const problems: string[] = [];
  const url = pathToFileURL(file).href;
  page.on('console', (m) => { if (m.type() === 'error' || m.type() === 'warn') problems.push(`console ${m.type()}: ${m.text()}`); });
  page.on('pageerror', (err) => problems.push(`page error: ${String(err)}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
  page.on('request', (r) => { if (r.url() !== url && !r.url().startsWith('data:')) problems.push(`request: ${r.url()}`); });
  await page.setViewport({ width: 1200, height: 900 });
  await page.goto(url, { waitUntil: 'load' });
  await page.waitForSelector('body[data-rendered]', { timeout: 10_000 });
  // Run in the page (a string: this project compiles without the DOM's types).
  const drawn = await page.evaluate(`({
    canvases: document.querySelectorAll('.uplot canvas').length,
    nodes: [...document.querySelectorAll('svg.topology g.node')].map((g) => g.getAttribute('data-node')),
    pwned: window.__pwned !== undefined,
  })`) as { canvases: number; nodes: string[]; pwned: boolean };
  mkdirSync(path.dirname(shot), { recursive: true });
  await page.screenshot({ path: shot as `${string}.png`, fullPage: true });
  console.log(`report screenshot: ${shot}`);
  await page.close();
  return { problems, ...drawn };
}

/** Plots a page draws: verdicts for each interface and hook, and the two histograms. */
const plots = (r: MadeReport): number => r.data.points.length + (r.data.runs ? 1 : 0) + (r.data.runTime && r.data.runs ? 1 : 0);

describe.skipIf(why !== undefined)('the report in headless Chromium', () => {
  let browser: Browser;
  const reports: MadeReport[] = [];
  beforeAll(async () => {
    const puppeteer = (await import('puppeteer-core')).default;
    browser = await puppeteer.launch({ executablePath: CHROMIUM, headless: true, args: ['--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage'] });
    reports.push(await runReport('edge-firewall'), await runReport('tc-nat-vlan'), await replayReport());
  }, 120_000);
  afterAll(async () => {
    await browser?.close();
  });

  it(titled('opens every report with no error, its plots drawn and its network in the SVG', why), async () => {
    for (const r of reports) {
      const opened = await open(browser, r.file, path.join(SHOTS, `${r.name}.png`));
      expect(opened.problems, r.name).toEqual([]);
      expect(opened.canvases, `${r.name}: uPlot canvases`).toBe(plots(r));
      expect(opened.nodes, r.name).toEqual(r.data.topology.nodes.map((n) => n.name));
    }
  }, 120_000);

  it(titled('runs nothing a name carries in', why), async () => {
    const file = path.join(SHOTS, 'hostile.html');
    mkdirSync(SHOTS, { recursive: true });
    writeFileSync(file, buildReportHtml(hostileData()));
    const opened = await open(browser, file, path.join(SHOTS, 'hostile.png'));
    expect(opened.problems).toEqual([]);
    expect(opened.pwned).toBe(false);
    expect(opened.canvases).toBe(2);
  }, 60_000);
});
