// What every console test needs: an API client with a token, order bodies,
// waiting on the API, screenshots, and a page that fails the test on any
// script error or console error (a Content-Security-Policy refusal among them).
const { expect, request } = require("@playwright/test");
const path = require("node:path");

const screenshots = path.join(process.env.BROWSER_TEST_OUT || path.resolve(__dirname, "../../build/browser"), "screenshots");

async function apiClient(server, token) {
  return request.newContext({
    baseURL: server.url,
    extraHTTPHeaders: token ? { Authorization: `Bearer ${token}` } : {},
  });
}

function orderBody(orderId, customerId, { sku = "mug", quantity = 1, price = 1250, country = "NL" } = {}) {
  return {
    order_id: orderId,
    customer_id: customerId,
    items: [{ sku, quantity, unit_price_cents: price }],
    shipping_address: { country, city: "Utrecht", line1: "Oudegracht 1", postal_code: "3511" },
  };
}

async function post(api, path, data) {
  const r = await api.post(path, { data });
  expect(r.status(), `POST ${path}: ${await r.text()}`).toBeLessThan(300);
  return r.json();
}

// Waits until GET /orders/{id}/state says `status`.
async function waitForStatus(api, orderId, status) {
  await expect
    .poll(async () => (await (await api.get(`/orders/${orderId}/state`)).json()).status, { timeout: 20_000 })
    .toBe(status);
}

// Signs in when the server asks for a token; fails the test on page errors.
async function openConsole(page, server, token, hash = "") {
  const problems = [];
  page.on("pageerror", (e) => problems.push(`page error: ${e.message}`));
  page.on("console", (m) => {
    if (m.type() === "error") problems.push(`console error: ${m.text()}`);
  });
  await page.goto(`${server.url}/ui/${hash}`);
  if (token) {
    await page.getByLabel("API token").fill(token);
    await page.getByRole("button", { name: "Sign in" }).click();
  }
  await expect(page.getByRole("navigation", { name: "Pages" })).toBeVisible();
  return problems;
}

// Saves the viewport as NAME.png; with `small`, also as NAME.jpg (the README's copies, docs/img/).
async function shoot(page, name, { small = false } = {}) {
  await page.screenshot({ path: path.join(screenshots, `${name}.png`), fullPage: false });
  if (small) await page.screenshot({ path: path.join(screenshots, `${name}.jpg`), type: "jpeg", quality: 60 });
}

// Every control on the page has an accessible name, from its label,
// aria-label or text.
async function expectEveryControlLabelled(page) {
  const unlabelled = await page.evaluate(() => {
    const out = [];
    for (const el of document.querySelectorAll("button, input, select, textarea, a[href], summary")) {
      const labelled = (el.labels && el.labels.length > 0) || el.getAttribute("aria-label") || el.getAttribute("aria-labelledby") ||
        (el.textContent || "").trim() || (el.type === "submit" && el.value);
      if (!labelled) out.push(el.outerHTML.slice(0, 120));
    }
    return out;
  });
  expect(unlabelled).toEqual([]);
}

module.exports = { apiClient, orderBody, post, waitForStatus, openConsole, shoot, expectEveryControlLabelled };
