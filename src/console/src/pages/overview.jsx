// Overview: what flows now (rates from the live event feed), how sagas end,
// every component's state and the server's health.
import { useEffect, useRef, useState } from "preact/hooks";
import { api, followEvents } from "../api.js";
import { count, clock, label, money } from "../format.js";
import { TimeChart } from "../chart.jsx";
import { NeedsScope, Problem, Status, usePoll, useSession } from "../ui.jsx";

const WINDOW_S = 120;
// Each counted once, from the order's own stream.
const RATES = [
  { type: "order.placed.v1", label: "placed", stroke: "#2563eb" },
  { type: "shipment.initiated.v1", label: "shipped", stroke: "#16a34a" },
  { type: "order.cancelled.v1", label: "cancelled", stroke: "#dc2626" },
];

// Per-second counts of the RATES types over the last WINDOW_S seconds, and
// the latest orders placed, from GET /events/stream starting at the head.
function useLiveRates(enabled) {
  const buckets = useRef(new Map()); // unix second -> [placed, shipped, cancelled]
  const opened = useRef(Math.floor(Date.now() / 1000) - 10);
  const [data, setData] = useState(() => frame(new Map(), opened.current));
  const [latest, setLatest] = useState([]);
  const [totals, setTotals] = useState([0, 0, 0]);
  const [feed, setFeed] = useState({ live: false });
  useEffect(() => {
    if (!enabled) return undefined;
    let stop = () => {};
    let cancelled = false;
    api("/events?from=1&limit=1").then(
      (page) => {
        if (cancelled) return;
        stop = followEvents({
          from: page.head + 1,
          stream: "order-",
          type: RATES.map((r) => r.type).join(","),
          onState: setFeed,
          onEvent: (event) => {
            const i = RATES.findIndex((r) => r.type === event.type);
            if (i < 0) return;
            const second = Math.floor(Date.now() / 1000);
            const row = buckets.current.get(second) || [0, 0, 0];
            row[i] += 1;
            buckets.current.set(second, row);
            setTotals((t) => t.map((v, j) => (j === i ? v + 1 : v)));
            if (i === 0) {
              const p = event.payload;
              setLatest((l) => [{ id: p.order_id, customer: p.customer_id, total: p.total_cents, time: event.time }, ...l].slice(0, 8));
            }
          },
        });
      },
      (error) => setFeed({ live: false, error }),
    );
    const tick = setInterval(() => setData(frame(buckets.current, opened.current)), 1000);
    return () => {
      cancelled = true;
      stop();
      clearInterval(tick);
    };
  }, [enabled]);
  return { data, latest, totals, feed };
}

// The chart's data: one point a second, from when the page opened (less ten
// seconds) or WINDOW_S ago, whichever is later, to the last whole second.
function frame(buckets, opened) {
  const now = Math.floor(Date.now() / 1000);
  const xs = [];
  const ys = RATES.map(() => []);
  for (let t = Math.max(opened, now - WINDOW_S); t < now; t++) {
    xs.push(t);
    const row = buckets.get(t);
    RATES.forEach((_, i) => ys[i].push(row ? row[i] : 0));
  }
  for (const t of buckets.keys()) if (t < now - WINDOW_S) buckets.delete(t);
  return [xs, ...ys];
}

function Rates() {
  const { can } = useSession();
  const enabled = can("events:read");
  const { data, latest, totals, feed } = useLiveRates(enabled);
  if (!enabled) return <NeedsScope scope="events:read" what="The live rates" />;
  const recent = (i) => data[i + 1].slice(-5).reduce((a, b) => a + b, 0) / 5;
  return (
    <section aria-labelledby="rates-title">
      <h2 id="rates-title">
        Orders per second <span class={feed.live ? "live" : "offline"}>{feed.live ? "live" : "connecting"}</span>
      </h2>
      <Problem error={feed.error} />
      <dl class="figures">
        {RATES.map((r, i) => (
          <div key={r.label}>
            <dt>{r.label} / s (5 s)</dt>
            <dd data-rate={r.label}>{recent(i).toFixed(1)}</dd>
            <dt>{r.label} since opened</dt>
            <dd data-total={r.label}>{count(totals[i])}</dd>
          </div>
        ))}
      </dl>
      <TimeChart title="orders placed, shipped and cancelled per second" series={RATES} data={data} />
      <h3>Latest orders placed</h3>
      <ul class="latest" aria-live="polite" data-testid="latest-orders">
        {latest.length === 0 && <li class="muted">none since this page opened</li>}
        {latest.map((o) => (
          <li key={o.id}>
            <a href={`#/orders/${encodeURIComponent(o.id)}`}>{o.id}</a> <span class="muted">{o.customer}</span>{" "}
            {money(o.total)} <span class="muted">{clock(o.time)}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}

function Bars({ entries }) {
  const max = Math.max(1, ...entries.map(([, v]) => v));
  return (
    <table class="bars">
      <tbody>
        {entries.map(([name, value]) => (
          <tr key={name}>
            <th scope="row">{label(name)}</th>
            <td class="num">{count(value)}</td>
            <td class="bar-cell">
              <span class="bar" style={{ width: `${(100 * value) / max}%` }} />
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function Outcomes() {
  const { can } = useSession();
  const stats = usePoll(() => (can("metrics") ? api("/stats") : null), 2000);
  if (!can("metrics")) return <NeedsScope scope="metrics" what="Saga outcomes" />;
  const s = stats.data;
  return (
    <section aria-labelledby="outcomes-title">
      <h2 id="outcomes-title">Saga outcomes</h2>
      <Problem error={stats.error} />
      {s && (
        <div class="columns">
          <div>
            <h3>Orders by status</h3>
            <Bars entries={Object.entries(s.orders || {})} />
          </div>
          <div>
            <h3>Cancelled, by reason</h3>
            <Bars entries={Object.entries(s.cancellations || {})} />
          </div>
          <div>
            <h3>Totals</h3>
            <dl class="figures">
              <div>
                <dt>revenue</dt>
                <dd>{money(s.revenue_cents)}</dd>
                <dt>events in the log</dt>
                <dd>{count(s.events)}</dd>
              </div>
            </dl>
          </div>
        </div>
      )}
    </section>
  );
}

export function ComponentTable({ components, actions }) {
  return (
    <table>
      <caption class="sr-only">components</caption>
      <thead>
        <tr>
          <th scope="col">component</th>
          <th scope="col">state</th>
          <th scope="col" class="num">position</th>
          <th scope="col" class="num">lag</th>
          <th scope="col" class="num">restarts</th>
          <th scope="col">last error</th>
          {actions && <th scope="col">actions</th>}
        </tr>
      </thead>
      <tbody>
        {components.map((c) => (
          <tr key={c.name} data-component={c.name}>
            <th scope="row">{c.name}</th>
            <td>
              <Status value={c.paused ? "paused" : c.state} />
            </td>
            <td class="num">{count(c.position)}</td>
            <td class="num">{count(c.lag)}</td>
            <td class="num">{count(c.restarts)}</td>
            <td class="error-text">{c.last_error || c.failure || ""}</td>
            {actions && <td>{actions(c)}</td>}
          </tr>
        ))}
      </tbody>
    </table>
  );
}

function ComponentsAndHealth() {
  const { can } = useSession();
  const health = usePoll(() => api("/health"), 2000);
  const components = usePoll(() => (can("admin") ? api("/admin/components") : null), 2000);
  const h = health.data;
  const list = components.data?.components || h?.components || [];
  return (
    <section aria-labelledby="health-title">
      <h2 id="health-title">
        Health: <Status value={h?.status || "unknown"} />
      </h2>
      <Problem error={health.error || components.error} />
      {h?.reasons?.length > 0 && (
        <ul class="reasons">
          {h.reasons.map((r) => (
            <li key={r}>{r}</li>
          ))}
        </ul>
      )}
      {h?.head !== undefined && <p>Log head: position {count(h.head)}</p>}
      {list.length > 0 ? (
        <ComponentTable components={list} />
      ) : (
        !can("metrics") && <NeedsScope scope="metrics or admin" what="The components' states" />
      )}
    </section>
  );
}

export function Overview() {
  return (
    <>
      <h1>Overview</h1>
      <Rates />
      <Outcomes />
      <ComponentsAndHealth />
    </>
  );
}
