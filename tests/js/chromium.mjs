// Headless Chromium for every Playwright run of the repo (page tests, demo-check, the
// browser bench): Debian's /usr/bin/chromium (or $CHROMIUM), never a downloaded browser.
// The background-networking flags keep Chromium off this machine's closed network.
import { chromium } from 'playwright-core';

export const CHROMIUM = process.env.CHROMIUM ?? '/usr/bin/chromium';

export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
  '--disable-quic',
  '--disable-dev-shm-usage',
];

/** Launches Chromium, headless unless `headed`. */
export function launchChromium({ headed = false } = {}) {
  return chromium.launch({ executablePath: CHROMIUM, headless: !headed, args: CHROMIUM_ARGS });
}
