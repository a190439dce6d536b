/**
 * Headless Chromium for the tests: Debian's chromium (`npm test` installs it with apt when
 * missing), driven by playwright-core, which never downloads a browser of its own. Override the
 * path with REPLIC_CHROMIUM.
 */
import { chromium, type Browser } from "playwright-core";
import { findTool, installCommand, SYSTEM_TOOLS } from "../../../scripts/system-tools.mjs";

export const CHROMIUM = findTool("chromium");

export async function launchChromium(): Promise<Browser> {
  if (!CHROMIUM) {
    const where = process.env.REPLIC_CHROMIUM ? `REPLIC_CHROMIUM=${process.env.REPLIC_CHROMIUM} is not an executable` : "chromium is not installed";
    throw new Error(`${where}: run \`${installCommand(SYSTEM_TOOLS.filter((t) => t.name === "chromium"))}\` (npm test does this when run as root)`);
  }
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      "--no-sandbox",
      "--headless",
      "--disable-gpu",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--no-first-run",
      "--disable-dev-shm-usage",
    ],
  });
}
