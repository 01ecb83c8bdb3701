// Playwright drives Debian's chromium (/usr/bin/chromium, installed by
// scripts/install-deps.sh): no browser is downloaded. One worker: each spec
// file starts its own server, and the machine has two cores.
const { defineConfig } = require("@playwright/test");
const path = require("node:path");

const out = process.env.BROWSER_TEST_OUT || path.resolve(__dirname, "../../build/browser");

module.exports = defineConfig({
  testDir: __dirname,
  testMatch: /.*\.spec\.js/,
  workers: 1,
  timeout: 60_000,
  retries: 0,
  reporter: [["list"]],
  outputDir: path.join(out, "results"),
  use: {
    viewport: { width: 1200, height: 800 },
    launchOptions: {
      executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
      // The closed network: no background connections, no component updates.
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"],
    },
    trace: "retain-on-failure",
  },
});
