// The console against a real server running open (loopback, no tokens):
// live orders on the overview and in the list, an order's path and
// timeline, pausing and resuming payment, the live event tail, and the
// keyboard.
const { test, expect } = require("@playwright/test");
const { startServer } = require("./server.js");
const { apiClient, orderBody, post, waitForStatus, openConsole, shoot, expectEveryControlLabelled } = require("./helpers.js");

let server;
let api;
let problems;
const run = Date.now().toString(36);

test.beforeAll(async () => {
  server = await startServer();
  api = await apiClient(server);
  await post(api, "/customers/ann/deposits", { amount_cents: 10_000_000 });
  await post(api, "/customers/poor/deposits", { amount_cents: 100 });
  await post(api, "/inventory/mug/restock", { quantity: 10_000 });
});

test.afterAll(async () => {
  await api?.dispose();
  await server?.stop();
});

test.beforeEach(async ({ page }) => {
  problems = await openConsole(page, server);
});

test.afterEach(async () => {
  expect(problems).toEqual([]);
});

test("orders placed through the API appear on the overview and in the list within 2 s", async ({ page }) => {
  await expect(page.getByRole("heading", { name: /Orders per second/ }).getByText("live")).toBeVisible();
  const ids = [`ov-${run}-1`, `ov-${run}-2`, `ov-${run}-3`];
  for (const id of ids) await post(api, "/orders", orderBody(id, "ann"));
  const latest = page.getByTestId("latest-orders");
  for (const id of ids) await expect(latest.getByRole("link", { name: id })).toBeVisible({ timeout: 2000 });
  await expect(page.locator('[data-total="placed"]')).toHaveText("3", { timeout: 2000 });
  // The saga ends each of them; the chart's shipped count follows.
  await expect(page.locator('[data-total="shipped"]')).toHaveText("3", { timeout: 10_000 });
  await expect(page.locator("[data-component=payment]")).toContainText("running");
  await shoot(page, "overview");

  await page.getByRole("link", { name: "Orders", exact: true }).click();
  await expect(page.getByRole("heading", { name: "Orders", exact: true })).toBeVisible();
  const table = page.getByTestId("orders-table");
  await expect(table.locator(`[data-order="${ids[2]}"]`)).toBeVisible();
  const next = `list-${run}`;
  await post(api, "/orders", orderBody(next, "ann"));
  await expect(table.locator(`[data-order="${next}"]`)).toBeVisible({ timeout: 2000 });
  // Newest first.
  await expect(table.locator("tbody tr").first()).toHaveAttribute("data-order", next);
  await shoot(page, "orders");
  await expectEveryControlLabelled(page);
});

test("the overview charts the rates, the saga outcomes by reason and every component under load", async ({ page }) => {
  await expect(page.getByRole("heading", { name: /Orders per second/ }).getByText("live")).toBeVisible();
  // Four seconds of orders ending three ways: shipped, declined (no money),
  // and compensated (no shipping to BR).
  const placed = [];
  for (let second = 0; second < 4; second++) {
    const started = Date.now();
    for (let i = 0; i < 6; i++) {
      const id = `load-${run}-${second}-${i}`;
      const customer = i === 4 ? "poor" : "ann";
      await post(api, "/orders", orderBody(id, customer, { country: i === 5 ? "BR" : "NL" }));
      placed.push(id);
    }
    await page.waitForTimeout(Math.max(0, 1000 - (Date.now() - started))); // pacing the load, not waiting on a result
  }
  await expect(page.locator('[data-total="placed"]')).toHaveText(String(placed.length), { timeout: 10_000 });
  await expect(page.locator('[data-total="cancelled"]')).toHaveText("8", { timeout: 10_000 });
  // The chart's series (placed, shipped, cancelled) add up to what the totals count.
  await expect(page.locator(".chart")).toHaveAttribute("data-sums", `${placed.length},16,8`, { timeout: 5000 });
  const outcomes = page.getByRole("region", { name: "Saga outcomes" });
  await expect(outcomes.locator("tr", { hasText: "payment declined" })).toContainText(/\d/);
  await expect(outcomes.locator("tr", { hasText: "shipping unavailable" })).toBeVisible();
  for (const name of ["saga", "payment", "inventory", "shipping", "view-orders", "view-timeline"]) {
    await expect(page.locator(`[data-component="${name}"]`)).toContainText("running");
  }
  await shoot(page, "overview-load", { small: true });
});

test("the list filters by status and customer and pages by cursor", async ({ page }) => {
  // "pager" has no money: each of its orders is declined and cancelled.
  const ids = [];
  for (let i = 0; i < 7; i++) {
    ids.push(`page-${run}-${i}`);
    await post(api, "/orders", orderBody(ids[i], "pager"));
  }
  for (const id of ids) await waitForStatus(api, id, "cancelled");
  await page.getByRole("link", { name: "Orders", exact: true }).click();
  await page.getByLabel("Customer").fill("pager");
  await page.getByLabel("Status").selectOption("cancelled");
  await page.getByLabel("Per page").selectOption("5");
  await page.getByRole("button", { name: "Apply" }).click();
  const rows = page.getByTestId("orders-table").locator("tbody tr[data-order]");
  const shown = async () => rows.evaluateAll((trs) => trs.map((tr) => tr.dataset.order));
  await expect.poll(shown).toEqual(ids.slice(2).reverse());
  await page.getByRole("button", { name: "Older" }).click();
  await expect.poll(shown).toEqual(ids.slice(0, 2).reverse());
  await expect(page.getByRole("button", { name: "Older" })).toBeDisabled();
  await page.getByRole("button", { name: "Newer" }).click();
  await expect.poll(shown).toEqual(ids.slice(2).reverse());
  // Another status: none of pager's orders is delivered.
  await page.getByLabel("Status").selectOption("delivered");
  await page.getByRole("button", { name: "Apply" }).click();
  await expect(rows).toHaveCount(0);
  // Search by id opens the order.
  await page.getByLabel("Order id").fill(ids[3]);
  await page.getByRole("button", { name: "Open order" }).click();
  await expect(page.getByRole("heading", { name: `Order ${ids[3]}` })).toBeVisible();
  await shoot(page, "orders-search");
});

test("an order's page shows its timeline and the path it took: shipped", async ({ page }) => {
  const id = `ship-${run}`;
  await post(api, "/orders", orderBody(id, "ann", { quantity: 2 }));
  await waitForStatus(api, id, "shipment_initiated");
  await page.goto(`${server.url}/ui/#/orders/${id}`);
  await expect(page.getByRole("heading", { name: `Order ${id}` })).toContainText("shipment initiated");
  const machine = page.getByTestId("state-machine");
  for (const s of ["placed", "payment_processed", "inventory_reserved", "shipment_initiated"]) {
    await expect(machine.locator(`[data-state=${s}]`)).toHaveAttribute("data-visited", "true");
  }
  for (const s of ["delivered", "cancelling", "cancelled"]) {
    await expect(machine.locator(`[data-state=${s}]`)).toHaveAttribute("data-visited", "false");
  }
  for (const e of ["placed>payment_processed", "payment_processed>inventory_reserved", "inventory_reserved>shipment_initiated"]) {
    await expect(machine.locator(`[data-edge="${e}"]`)).toHaveAttribute("data-taken", "true");
  }
  await expect(machine.locator('[data-edge="placed>cancelling"]')).toHaveAttribute("data-taken", "false");
  await expect(machine).toHaveAttribute("aria-label", /placed, then payment processed, then inventory reserved, then shipment initiated/);

  // The timeline: every stream of the story, in log order, as the API has it.
  const timeline = await (await api.get(`/orders/${id}/timeline`)).json();
  const rows = page.getByTestId("timeline").locator("tbody tr");
  await expect(rows).toHaveCount(timeline.events.length);
  const types = await rows.evaluateAll((trs) => trs.map((tr) => tr.dataset.type));
  expect(types).toEqual(timeline.events.map((e) => e.type));
  expect(types).toContain("shipment.initiated.v1");
  expect(new Set(timeline.events.map((e) => e.stream.split("-")[0]))).toEqual(
    new Set(["order", "saga", "wallet", "reservation", "sku", "shipment"]),
  );
  await expect(page.getByText("none", { exact: true })).toBeVisible(); // no compensations

  // A payload opens by keyboard and shows the event's JSON.
  const placed = rows.filter({ has: page.locator("td", { hasText: "order.placed.v1" }) }).first();
  await placed.getByText("show").focus();
  await page.keyboard.press("Enter");
  await expect(placed.locator("pre")).toContainText(`"order_id": "${id}"`);
  await expect(placed.locator("pre")).toContainText('"quantity": 2');
  await shoot(page, "order-shipped");

  // Delivered from the page: the path goes one step further.
  await page.getByRole("button", { name: `Mark order ${id} delivered` }).click();
  await expect(machine.locator("[data-state=delivered]")).toHaveAttribute("data-visited", "true");
  await expect(machine.locator('[data-edge="shipment_initiated>delivered"]')).toHaveAttribute("data-taken", "true");
  await expectEveryControlLabelled(page);
});

test("an order's page shows its timeline and the path it took: payment declined", async ({ page }) => {
  const id = `declined-${run}`;
  await post(api, "/orders", orderBody(id, "poor", { quantity: 3 }));
  await waitForStatus(api, id, "cancelled");
  await page.goto(`${server.url}/ui/#/orders/${id}`);
  await expect(page.getByRole("heading", { name: `Order ${id}` })).toContainText("cancelled");
  await expect(page.getByTestId("cancel-reason")).toHaveText("payment declined");
  const machine = page.getByTestId("state-machine");
  for (const s of ["placed", "cancelling", "cancelled"]) {
    await expect(machine.locator(`[data-state=${s}]`)).toHaveAttribute("data-visited", "true");
  }
  for (const s of ["payment_processed", "inventory_reserved", "shipment_initiated", "delivered"]) {
    await expect(machine.locator(`[data-state=${s}]`)).toHaveAttribute("data-visited", "false");
  }
  await expect(machine.locator('[data-edge="placed>cancelling"]')).toHaveAttribute("data-taken", "true");
  await expect(machine.locator('[data-edge="cancelling>cancelled"]')).toHaveAttribute("data-taken", "true");
  await expect(machine.locator('[data-edge="placed>payment_processed"]')).toHaveAttribute("data-taken", "false");
  const rows = page.getByTestId("timeline").locator("tbody tr");
  await expect(rows.locator("td", { hasText: "payment.declined.v1" }).first()).toBeVisible();
  await expect(rows.locator("td", { hasText: "order.cancelled.v1" })).toHaveCount(1);
  // Nothing was charged, so nothing is refunded.
  await expect(page.getByText("payment refunded")).toHaveCount(0);
  await shoot(page, "order-declined");
});

test("an order cancelled after its payment shows the compensations it ran", async ({ page }) => {
  const id = `compensated-${run}`;
  // Shipping to BR is refused: payment and stock are compensated.
  await post(api, "/orders", orderBody(id, "ann", { country: "BR" }));
  await waitForStatus(api, id, "cancelled");
  await page.goto(`${server.url}/ui/#/orders/${id}`);
  const machine = page.getByTestId("state-machine");
  await expect(machine.locator('[data-edge="inventory_reserved>cancelling"]')).toHaveAttribute("data-taken", "true");
  const compensations = page.getByTestId("compensations");
  await expect(compensations).toContainText("payment refunded");
  await expect(compensations).toContainText("reservation released");
  await expect(page.getByTestId("cancel-reason")).toHaveText("shipping unavailable");
  await shoot(page, "order-compensated", { small: true });
});

test("pausing payment from the Components page leaves new orders waiting; resuming lets them finish", async ({ page }) => {
  await page.getByRole("link", { name: "Components" }).click();
  const payment = page.locator("[data-component=payment]").first();
  await expect(payment).toContainText("running");
  await page.getByRole("button", { name: "Pause payment" }).click();
  await expect(payment).toContainText("paused");
  await expect(page.getByRole("button", { name: "Resume payment" })).toBeVisible();

  const id = `held-${run}`;
  await post(api, "/orders", orderBody(id, "ann"));
  // The saga asks for the charge; nobody answers while payment is paused.
  await expect
    .poll(async () => ((await (await api.get(`/orders/${id}/timeline`)).json()).events || []).map((e) => e.type), { timeout: 10_000 })
    .toContain("saga.charge_requested.v1");
  await expect(payment.locator("td").nth(2)).not.toHaveText("0"); // lag: the charge request waits
  const state = await (await api.get(`/orders/${id}/state`)).json();
  expect(state.status).toBe("placed");
  await shoot(page, "components-paused");

  await page.getByRole("button", { name: "Resume payment" }).click();
  await expect(payment).toContainText("running");
  await page.goto(`${server.url}/ui/#/orders/${id}`);
  await expect(page.getByRole("heading", { name: `Order ${id}` })).toContainText("shipment initiated", { timeout: 10_000 });
});

test("the events page tails the log live, filters it, and jumps to a position", async ({ page }) => {
  await page.getByRole("link", { name: "Events" }).click();
  await expect(page.getByText("live", { exact: true })).toBeVisible();
  const id = `tail-${run}`;
  await post(api, "/orders", orderBody(id, "ann"));
  const table = page.getByTestId("events-table");
  await expect(table.locator("tr", { hasText: `order-${id}` }).first()).toBeVisible({ timeout: 2000 });
  await expect(table.locator("tr", { hasText: "order.placed.v1" }).first()).toBeVisible();
  await shoot(page, "events");

  // Only one type, from this order's stream.
  await page.getByLabel("Stream prefix").fill(`order-${id}`);
  await page.getByLabel("Types").fill("payment.processed.v1");
  await page.getByLabel("From position").fill("1");
  await page.getByRole("button", { name: "Tail" }).click();
  const rows = table.locator("tbody tr");
  await expect(rows).toHaveCount(1);
  await expect(rows.first()).toContainText("payment.processed.v1");
  await expect(rows.first()).toContainText(`order-${id}`);

  // Jump to position 1: the first event of the log, the first deposit.
  await page.getByLabel("Stream prefix").fill("");
  await page.getByLabel("Types").fill("");
  await page.getByLabel("From position").fill("1");
  await page.getByRole("button", { name: "Tail" }).click();
  await expect(table.locator("[data-position='1']")).toContainText("payment.funds_deposited.v1");
  await expectEveryControlLabelled(page);
});

test("lookups show a customer's wallet and orders and a sku's stock", async ({ page }) => {
  const id = `lookup-${run}`;
  await post(api, "/orders", orderBody(id, "ann"));
  await waitForStatus(api, id, "shipment_initiated");
  await page.getByRole("link", { name: "Lookups" }).click();
  await page.getByLabel("Customer id", { exact: true }).fill("ann");
  await page.getByRole("button", { name: "Look up customer" }).click();
  const wallet = await (await api.get("/customers/ann/wallet")).json();
  await expect(page.getByTestId("wallet")).toContainText((wallet.balance_cents / 100).toLocaleString("en-US", { minimumFractionDigits: 2 }));
  await expect(page.getByTestId("orders-table").locator(`[data-order="${id}"]`)).toBeVisible();
  await page.getByLabel("Sku", { exact: true }).fill("mug");
  await page.getByRole("button", { name: "Look up sku" }).click();
  const stock = await (await api.get("/inventory/mug")).json();
  await expect(page.getByTestId("stock")).toContainText(`available${stock.available.toLocaleString("en-US")}`);
  await expectEveryControlLabelled(page);
  await shoot(page, "lookups");
});

test("the console works from the keyboard alone", async ({ page }) => {
  // Tab from the top: the skip link first, then the pages.
  await page.keyboard.press("Tab");
  await expect(page.getByRole("link", { name: "Skip to content" })).toBeFocused();
  await page.keyboard.press("Tab");
  await expect(page.getByRole("link", { name: "Overview" })).toBeFocused();
  await page.keyboard.press("Tab");
  await expect(page.getByRole("link", { name: "Orders", exact: true })).toBeFocused();
  await page.keyboard.press("Enter");
  await expect(page.getByRole("heading", { name: "Orders", exact: true })).toBeVisible();
  // Find an order by typing its id and pressing Enter.
  const id = `keys-${run}`;
  await post(api, "/orders", orderBody(id, "ann"));
  await page.getByLabel("Order id").focus();
  await page.keyboard.type(id);
  await page.keyboard.press("Enter");
  await expect(page.getByRole("heading", { name: `Order ${id}` })).toBeVisible();
  // Every page: each control is labelled and reachable by Tab.
  for (const [link, heading] of [["Sagas", "Sagas"], ["Components", "Components"], ["Lookups", "Lookups"], ["Overview", "Overview"]]) {
    await page.getByRole("link", { name: link, exact: true }).focus();
    await page.keyboard.press("Enter");
    await expect(page.getByRole("heading", { name: heading, exact: true })).toBeVisible();
    await expectEveryControlLabelled(page);
    const unreachable = await page.evaluate(() =>
      [...document.querySelectorAll("main button, main input, main select, main a[href]")].filter((el) => el.tabIndex < 0 && !el.disabled).length,
    );
    expect(unreachable).toBe(0);
  }
  await shoot(page, "keyboard");
});
