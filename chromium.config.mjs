/**
 * Debian's Chromium and the flags every browser run here uses (vitest's browser project, the e2e
 * test, the browser bench). Playwright's own browser download cannot work on these machines.
 */
export const CHROMIUM_PATH = process.env.CHROMIUM_PATH ?? "/usr/bin/chromium";

export const CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
  "--no-first-run",
];
