// Lookups: a customer's wallet, summary and orders; a sku's stock.
import { useState } from "preact/hooks";
import { api, query } from "../api.js";
import { count, money } from "../format.js";
import { NeedsScope, Problem, usePoll, useSession } from "../ui.jsx";
import { OrderTable } from "./orders.jsx";

function Customer({ id }) {
  const { can } = useSession();
  const enc = encodeURIComponent(id);
  const summary = usePoll(() => (can("wallets:read") ? api(`/customers/${enc}`) : null), 2000, [id]);
  const wallet = usePoll(() => (can("wallets:read") ? api(`/customers/${enc}/wallet`) : null), 2000, [id]);
  const orders = usePoll(() => (can("orders:read") ? api(`/orders${query({ customer_id: id, limit: 20 })}`) : null), 2000, [id]);
  const s = summary.data;
  const w = wallet.data;
  return (
    <section aria-labelledby="customer-title">
      <h2 id="customer-title">Customer {id}</h2>
      {can("wallets:read") ? (
        <>
          <Problem error={wallet.error || summary.error} />
          <dl class="pairs" data-testid="wallet">
            <dt>balance</dt>
            <dd>{money(w?.balance_cents)}</dd>
            <dt>charged, not refunded</dt>
            <dd>{money(w?.charged_cents)}</dd>
            {s &&
              Object.entries(s)
                .filter(([k]) => k !== "customer_id" && k !== "balance_cents" && typeof s[k] !== "object")
                .map(([k, v]) => [<dt key={`t${k}`}>{k.replace(/_cents$/, "").replaceAll("_", " ")}</dt>, <dd key={`d${k}`}>{k.endsWith("_cents") ? money(v) : count(v)}</dd>])}
          </dl>
        </>
      ) : (
        <NeedsScope scope="wallets:read" what="The wallet" />
      )}
      {can("orders:read") && (
        <>
          <h3>Latest orders</h3>
          <Problem error={orders.error} />
          <OrderTable orders={orders.data?.orders || []} caption={`orders of ${id}`} />
        </>
      )}
    </section>
  );
}

function Sku({ sku }) {
  const stock = usePoll(() => api(`/inventory/${encodeURIComponent(sku)}`), 2000, [sku]);
  const s = stock.data;
  return (
    <section aria-labelledby="sku-title">
      <h2 id="sku-title">Stock of {sku}</h2>
      <Problem error={stock.error} />
      {s && (
        <dl class="pairs" data-testid="stock">
          {["restocked", "available", "reserved", "shipped"].map((k) => [<dt key={`t${k}`}>{k}</dt>, <dd key={`d${k}`}>{count(s[k])}</dd>])}
        </dl>
      )}
    </section>
  );
}

export function Lookups({ params }) {
  const { can } = useSession();
  const [customer, setCustomer] = useState(params.get("customer") || "");
  const [sku, setSku] = useState(params.get("sku") || "");
  const shownCustomer = params.get("customer");
  const shownSku = params.get("sku");
  const go = (next) => {
    location.hash = `#/lookups${query(next)}`;
  };
  return (
    <>
      <h1>Lookups</h1>
      <form class="toolbar" aria-label="Look up a customer" onSubmit={(e) => { e.preventDefault(); go({ customer: customer.trim(), sku: shownSku }); }}>
        <label for="lookup-customer">Customer id</label>
        <input id="lookup-customer" value={customer} onInput={(e) => setCustomer(e.target.value)} />
        <button type="submit">Look up customer</button>
      </form>
      <form class="toolbar" aria-label="Look up a sku" onSubmit={(e) => { e.preventDefault(); go({ customer: shownCustomer, sku: sku.trim() }); }}>
        <label for="lookup-sku">Sku</label>
        <input id="lookup-sku" value={sku} onInput={(e) => setSku(e.target.value)} />
        <button type="submit">Look up sku</button>
      </form>
      {shownCustomer && <Customer id={shownCustomer} />}
      {shownSku && (can("inventory:read") ? <Sku sku={shownSku} /> : <NeedsScope scope="inventory:read" what="Stock" />)}
    </>
  );
}
