// Orders: the list from GET /orders, newest first, filtered by status and
// customer and paged by cursor; a search by id. The first page refreshes
// itself every second.
import { useState } from "preact/hooks";
import { api, query } from "../api.js";
import { STATUSES } from "../lifecycle.js";
import { clock, label, money } from "../format.js";
import { NeedsScope, Problem, Status, usePoll, useSession } from "../ui.jsx";

export function OrderTable({ orders, caption }) {
  return (
    <table data-testid="orders-table">
      <caption class="sr-only">{caption}</caption>
      <thead>
        <tr>
          <th scope="col">order</th>
          <th scope="col">customer</th>
          <th scope="col">status</th>
          <th scope="col" class="num">total</th>
          <th scope="col">placed</th>
          <th scope="col">last change</th>
        </tr>
      </thead>
      <tbody>
        {orders.length === 0 && (
          <tr>
            <td colSpan={6} class="muted">
              no orders
            </td>
          </tr>
        )}
        {orders.map((o) => (
          <tr key={o.order_id} data-order={o.order_id}>
            <th scope="row">
              <a href={`#/orders/${encodeURIComponent(o.order_id)}`}>{o.order_id}</a>
            </th>
            <td>
              <a href={`#/lookups?customer=${encodeURIComponent(o.customer_id)}`}>{o.customer_id}</a>
            </td>
            <td>
              <Status value={o.status} />
              {o.cancel_reason && <span class="muted"> {label(o.cancel_reason)}</span>}
            </td>
            <td class="num">{money(o.total_cents)}</td>
            <td>{clock(o.history?.[0]?.time)}</td>
            <td>{clock(o.history?.[o.history.length - 1]?.time)}</td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function Orders({ params }) {
  const { can } = useSession();
  const [status, setStatus] = useState(params.get("status") || "");
  const [customer, setCustomer] = useState(params.get("customer_id") || "");
  const [limit, setLimit] = useState(params.get("limit") || "25");
  const [filters, setFilters] = useState({ status, customer_id: customer, limit });
  // The cursors of the pages before this one; the last is this page's.
  const [cursors, setCursors] = useState([""]);
  const [live, setLive] = useState(true);
  const [search, setSearch] = useState("");
  const after = cursors[cursors.length - 1];
  const firstPage = cursors.length === 1;
  const list = usePoll(
    () => api(`/orders${query({ ...filters, after })}`),
    live && firstPage ? 1000 : 0,
    [filters, after, live],
  );
  if (!can("orders:read")) return <NeedsScope scope="orders:read" what="The order list" />;

  const apply = (e) => {
    e.preventDefault();
    setFilters({ status, customer_id: customer.trim(), limit });
    setCursors([""]);
    location.hash = `#/orders${query({ status, customer_id: customer.trim(), limit: limit === "25" ? "" : limit })}`;
  };
  const orders = list.data?.orders || [];
  return (
    <>
      <h1>Orders</h1>
      <form
        class="toolbar"
        role="search"
        aria-label="Find an order by id"
        onSubmit={(e) => {
          e.preventDefault();
          if (search.trim()) location.hash = `#/orders/${encodeURIComponent(search.trim())}`;
        }}
      >
        <label for="order-search">Order id</label>
        <input id="order-search" value={search} onInput={(e) => setSearch(e.target.value)} placeholder="o-123" />
        <button type="submit">Open order</button>
      </form>
      <form class="toolbar" aria-label="Filter the list" onSubmit={apply}>
        <label for="filter-status">Status</label>
        <select id="filter-status" value={status} onChange={(e) => setStatus(e.target.value)}>
          <option value="">any</option>
          {STATUSES.map((s) => (
            <option key={s} value={s}>
              {label(s)}
            </option>
          ))}
        </select>
        <label for="filter-customer">Customer</label>
        <input id="filter-customer" value={customer} onInput={(e) => setCustomer(e.target.value)} />
        <label for="filter-limit">Per page</label>
        <select id="filter-limit" value={limit} onChange={(e) => setLimit(e.target.value)}>
          {["5", "10", "25", "50", "100"].map((n) => (
            <option key={n}>{n}</option>
          ))}
        </select>
        <button type="submit">Apply</button>
        <label class="check">
          <input type="checkbox" checked={live} onChange={(e) => setLive(e.target.checked)} /> refresh the first page every second
        </label>
      </form>
      <Problem error={list.error} />
      <OrderTable orders={orders} caption="orders, newest first" />
      <nav class="pager" aria-label="Pages of orders">
        <button type="button" disabled={firstPage} onClick={() => setCursors([""])}>
          Newest
        </button>
        <button type="button" disabled={firstPage} onClick={() => setCursors(cursors.slice(0, -1))}>
          Newer
        </button>
        <span>page {cursors.length}</span>
        <button type="button" disabled={!list.data?.next} onClick={() => setCursors([...cursors, list.data.next])}>
          Older
        </button>
      </nav>
    </>
  );
}
