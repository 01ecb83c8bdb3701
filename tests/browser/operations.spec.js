// Operating through the console, on a server whose saga steps time out
// fast: a stuck saga shows on the Sagas page and is retried from there; a
// view is rebuilt from the Components page.
const { test, expect } = require("@playwright/test");
const { startServer } = require("./server.js");
const { apiClient, orderBody, post, waitForStatus, openConsole, shoot, expectEveryControlLabelled } = require("./helpers.js");

let server;
let api;

test.beforeAll(async () => {
  server = await startServer({ args: ["--step-timeout", "1000", "--step-attempts", "1"] });
  api = await apiClient(server);
  await post(api, "/customers/ann/deposits", { amount_cents: 100_000 });
  await post(api, "/inventory/mug/restock", { quantity: 100 });
});

test.afterAll(async () => {
  await api?.dispose();
  await server?.stop();
});

test("a stuck saga is listed on the Sagas page and retried from there", async ({ page }) => {
  const problems = await openConsole(page, server, undefined, "#/sagas");
  // With payment held, the order's charge times out, the saga compensates,
  // and the refund times out too: stuck.
  await post(api, "/participants/payment/pause", {});
  await post(api, "/orders", orderBody("o-stuck", "ann"));
  const running = page.getByRole("region", { name: "Running" });
  await expect(running.locator('[data-order="o-stuck"]')).toBeVisible();
  const stuck = page.getByTestId("stuck-sagas");
  await expect(stuck.locator("tr", { hasText: "o-stuck" })).toBeVisible({ timeout: 15_000 });
  await shoot(page, "sagas-stuck");
  await expectEveryControlLabelled(page);

  // Retried from the page: the retry is the console's, in the audit trail.
  await page.getByRole("button", { name: "Retry the stuck saga of o-stuck" }).click();
  await expect
    .poll(async () => ((await (await api.get("/admin/audit")).json()).entries || []).map((e) => `${e.payload.path} ${e.payload.status}`)[0])
    .toBe("/sagas/o-stuck/retry 202");
  // With payment back, the refund goes through and the saga ends: nothing is stuck or running.
  await post(api, "/participants/payment/resume", {});
  await waitForStatus(api, "o-stuck", "cancelled");
  await expect(stuck.locator("tr", { hasText: "o-stuck" })).toHaveCount(0);
  await expect(running.locator('[data-order="o-stuck"]')).toHaveCount(0);
  expect(problems).toEqual([]);
});

test("a view is rebuilt from the Components page", async ({ page }) => {
  const problems = await openConsole(page, server, undefined, "#/components");
  const row = page.getByTestId("views").locator("[data-view=view-stats]");
  const before = Number(await row.locator("td").first().textContent());
  await page.getByRole("button", { name: "Rebuild view-stats" }).click();
  // The rebuilt view replaces the live one: its generation moves on.
  await expect(row.locator("td").first()).toHaveText(String(before + 1));
  await expect(row.getByRole("button", { name: "Rebuild view-stats" })).toBeVisible();
  const views = await (await api.get("/admin/views")).json();
  expect(views.views.find((v) => v.name === "view-stats").generation).toBe(before + 1);
  await shoot(page, "components-rebuilt");
  expect(problems).toEqual([]);
});
