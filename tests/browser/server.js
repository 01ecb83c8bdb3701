// A real ordersd for the browser tests: `ordersd serve` on a fresh data
// directory and a free loopback port (it prints "listening on HOST:PORT"),
// stopped with SIGTERM.
const { spawn, execFileSync } = require("node:child_process");
const fs = require("node:fs");
const os = require("node:os");
const path = require("node:path");

const binary = process.env.ORDERSD_BINARY || path.resolve(__dirname, "../../build/ordersd");

// Creates a token file holding one token per {name: scopes}; returns {name: token}.
function createTokens(file, tokens) {
  const out = {};
  for (const [name, scopes] of Object.entries(tokens)) {
    const printed = execFileSync(binary, ["token", "create", "--file", file, "--name", name, "--scopes", scopes], { encoding: "utf8" });
    out[name] = printed.split("\n")[0].trim();
  }
  return out;
}

// Starts a server; `tokens` ({name: "scope,scope"}) makes it need them.
async function startServer({ tokens, args = [] } = {}) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "ordersd-browser-"));
  const argv = ["serve", "--data", path.join(dir, "data"), "--listen", "127.0.0.1:0", ...args];
  let created = {};
  if (tokens) {
    const file = path.join(dir, "tokens.jsonl");
    created = createTokens(file, tokens);
    argv.push("--tokens", file);
  }
  const child = spawn(binary, argv, { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  child.stderr.on("data", (d) => (log += d));
  const exited = new Promise((resolve) => child.on("exit", (code, signal) => resolve({ code, signal })));
  const port = await new Promise((resolve, reject) => {
    let out = "";
    child.stdout.on("data", (d) => {
      out += d;
      const m = /listening on [^\s]+:(\d+)/.exec(out);
      if (m) resolve(Number(m[1]));
    });
    exited.then(({ code }) => reject(new Error(`ordersd exited (${code}) before listening:\n${log}`)));
  });
  return {
    url: `http://127.0.0.1:${port}`,
    tokens: created,
    log: () => log,
    async stop() {
      child.kill("SIGTERM");
      const { code } = await exited;
      fs.rmSync(dir, { recursive: true, force: true });
      if (code !== 0) throw new Error(`ordersd exited with ${code}:\n${log}`);
    },
  };
}

module.exports = { startServer };
