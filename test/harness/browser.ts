// Headless Chromium from Debian's package (/usr/bin/chromium), driven by
// playwright-core. Never a downloaded browser: without the package, tests
// that need it fail in CI (requireComponent) and skip elsewhere.
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { BrowserContext, Page } from 'playwright-core';

export const CHROMIUM = process.env.GITFLEET_CHROMIUM ?? '/usr/bin/chromium';

/** Flags for a quiet, offline, sandbox-free (root in a VM) headless run. */
export const chromiumFlags = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
];

/** Why the browser cannot run here, or null when it can. */
export function missingBrowser(): string | null {
  if (!existsSync(CHROMIUM)) return `${CHROMIUM} is missing (apt: chromium)`;
  return null;
}

export interface TestBrowser {
  context: BrowserContext;
  /** A new tab (its own sessionStorage, so its own login) at this viewport. */
  newPage(viewport?: { width: number; height: number }): Promise<Page>;
  close(): Promise<void>;
}

/** Launches Chromium with a fresh profile directory, removed on close. */
export async function launchBrowser(): Promise<TestBrowser> {
  const profile = mkdtempSync(join(tmpdir(), 'gitfleet-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: chromiumFlags,
      viewport: { width: 1280, height: 800 },
      // Chromium inherits nothing from the user's environment that could reach the network.
      env: { ...process.env, http_proxy: '', https_proxy: '', HTTP_PROXY: '', HTTPS_PROXY: '' },
    });
  } catch (error) {
    rmSync(profile, { recursive: true, force: true });
    throw error;
  }
  const first = context.pages()[0];
  let firstUsed = false;
  return {
    context,
    async newPage(viewport = { width: 1280, height: 800 }) {
      let page: Page;
      if (first && !firstUsed) {
        firstUsed = true;
        page = first;
      } else page = await context.newPage();
      await page.setViewportSize(viewport);
      return page;
    },
    async close() {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** Collects page errors and CSP violations, which a test asserts are empty. */
export function watchPageProblems(page: Page): string[] {
  const problems: string[] = [];
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console error: ${m.text()}`);
  });
  return problems;
}
