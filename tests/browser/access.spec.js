// The console on a server that needs tokens: sign-in, the token kept for
// the tab only, controls hidden where the token's scopes do not reach, and
// the server refusing them anyway.
const { test, expect } = require("@playwright/test");
const { startServer } = require("./server.js");
const { apiClient, orderBody, post, waitForStatus, openConsole, shoot } = require("./helpers.js");

let server;
let root;

test.beforeAll(async () => {
  server = await startServer({
    tokens: {
      root: "orders:write,orders:read,wallets:write,wallets:read,inventory:write,inventory:read,events:read,metrics,admin",
      reader: "orders:read",
    },
  });
  root = await apiClient(server, server.tokens.root);
  await post(root, "/customers/ann/deposits", { amount_cents: 100_000 });
  await post(root, "/inventory/mug/restock", { quantity: 100 });
  await post(root, "/orders", orderBody("o-access-1", "ann"));
  await waitForStatus(root, "o-access-1", "shipment_initiated");
});

test.afterAll(async () => {
  await root?.dispose();
  await server?.stop();
});

// Before sign-in the console asks GET /whoami without a token: the browser
// logs that 401 (and the 403 this file provokes) as a failed load.
const unexpected = (problems) => problems.filter((p) => !/status of (401|403)/.test(p));

test("a bad token is refused at sign-in and nothing is shown", async ({ page }) => {
  await page.goto(`${server.url}/ui/`);
  await page.getByLabel("API token").fill("odt_0123456789abcdef_notarealtokennotarealtokennotarealtoken");
  await page.getByRole("button", { name: "Sign in" }).click();
  await expect(page.getByRole("alert")).toContainText("401");
  await expect(page.getByRole("navigation", { name: "Pages" })).toHaveCount(0);
  expect(await page.evaluate(() => sessionStorage.getItem("ordersd.token"))).toBeNull();
  await shoot(page, "sign-in-refused");
});

test("a reader sees orders but no operator controls, and the server refuses them anyway", async ({ page }) => {
  const problems = await openConsole(page, server, server.tokens.reader, "#/orders/o-access-1");
  await expect(page.locator("header")).toContainText("reader");
  await expect(page.getByRole("heading", { name: "Order o-access-1" })).toBeVisible();
  await expect(page.getByTestId("timeline").locator("tbody tr").first()).toBeVisible();
  // orders:read alone: no deliver, no saga, no retry.
  await expect(page.getByRole("button", { name: /delivered/ })).toHaveCount(0);
  await expect(page.getByText("needs the admin scope")).toBeVisible();
  await page.getByRole("link", { name: "Components" }).click();
  await expect(page.getByText("Operating components needs the admin scope")).toBeVisible();
  await expect(page.getByRole("button", { name: /Pause/ })).toHaveCount(0);
  await page.getByRole("link", { name: "Overview" }).click();
  await expect(page.getByText("The live rates needs the events:read scope")).toBeVisible();
  await shoot(page, "reader-overview");
  // The token is in this tab's session storage, and nowhere else.
  expect(await page.evaluate(() => sessionStorage.getItem("ordersd.token"))).toBe(server.tokens.reader);
  expect(await page.evaluate(() => localStorage.length)).toBe(0);
  // The page hides the control; the server refuses the call all the same.
  const refused = await page.evaluate(async (token) => {
    const r = await fetch("/participants/payment/pause", { method: "POST", headers: { Authorization: `Bearer ${token}` } });
    return { status: r.status, type: r.headers.get("content-type") };
  }, server.tokens.reader);
  expect(refused).toEqual({ status: 403, type: "application/problem+json" });
  const participants = await (await root.get("/participants")).json();
  expect(participants.participants.find((p) => p.name === "payment").paused).toBe(false);
  // Signing out forgets the token.
  await page.getByRole("button", { name: "Sign out" }).click();
  await expect(page.getByLabel("API token")).toBeVisible();
  expect(await page.evaluate(() => sessionStorage.getItem("ordersd.token"))).toBeNull();
  expect(unexpected(problems)).toEqual([]);
});

test("an admin token operates: pause and resume from the Components page", async ({ page }) => {
  const problems = await openConsole(page, server, server.tokens.root, "#/components");
  const shipping = page.locator("[data-component=shipping]").first();
  await page.getByRole("button", { name: "Pause shipping" }).click();
  await expect(shipping).toContainText("paused");
  await page.getByRole("button", { name: "Resume shipping" }).click();
  await expect(shipping).toContainText("running");
  // Both actions are in the audit trail, under the token's name.
  const audit = await (await root.get("/admin/audit")).json();
  const actions = audit.entries.slice(0, 2).map((e) => `${e.payload.caller} ${e.payload.path}`);
  expect(actions).toEqual(["root /participants/shipping/resume", "root /participants/shipping/pause"]);
  await shoot(page, "admin-components");
  expect(unexpected(problems)).toEqual([]);
});
