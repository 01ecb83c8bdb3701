// An order: its state machine with the path it took lit up, the
// compensations its saga ran, its saga, and its whole timeline across every
// stream of its story. Refreshes every second until the order settles.
import { useEffect, useState } from "preact/hooks";
import { api, query } from "../api.js";
import { COMPENSATIONS, STATUSES, TERMINAL } from "../lifecycle.js";
import { clock, day, label, money } from "../format.js";
import { ActionButton, NeedsScope, Problem, Status, usePoll, useSession } from "../ui.jsx";
import { EventTable } from "../event_table.jsx";

// Where each status sits in the drawing: the forward path on top, the
// cancellation below.
const W = 150;
const H = 36;
const AT = {
  placed: [10, 20],
  payment_processed: [180, 20],
  inventory_reserved: [350, 20],
  shipment_initiated: [520, 20],
  delivered: [690, 20],
  cancelling: [265, 130],
  cancelled: [520, 130],
};
// The transitions drawn: every move of lifecycle.js from a status it can
// happen in (a move "from any" drawn from each status it leaves).
const EDGES = [
  ["placed", "payment_processed"],
  ["payment_processed", "inventory_reserved"],
  ["inventory_reserved", "shipment_initiated"],
  ["shipment_initiated", "delivered"],
  ["placed", "cancelling"],
  ["payment_processed", "cancelling"],
  ["inventory_reserved", "cancelling"],
  ["cancelling", "cancelled"],
  ["cancelling", "shipment_initiated"],
];

// The point where the segment from the centre of box `a` to the centre of
// box `b` leaves box `a`.
function exit(a, b) {
  const [ax, ay] = [a[0] + W / 2, a[1] + H / 2];
  const [bx, by] = [b[0] + W / 2, b[1] + H / 2];
  const dx = bx - ax;
  const dy = by - ay;
  const t = Math.min(dx ? W / 2 / Math.abs(dx) : Infinity, dy ? H / 2 / Math.abs(dy) : Infinity);
  return [ax + dx * t, ay + dy * t];
}

export function StateMachine({ history, movedBy }) {
  const path = history.map((h) => h.status);
  const visited = new Set(path);
  const taken = new Set(path.slice(1).map((s, i) => `${path[i]}>${s}`));
  const current = path[path.length - 1];
  const description = `The order's path: ${path.map(label).join(", then ")}.`;
  return (
    <figure class="machine">
      <svg viewBox="0 0 850 180" role="img" aria-label={description} data-testid="state-machine">
        <defs>
          <marker id="arrow" viewBox="0 0 10 10" refX="9" refY="5" markerUnits="userSpaceOnUse" markerWidth="11" markerHeight="11" orient="auto-start-reverse">
            <path d="M 0 0 L 10 5 L 0 10 z" fill="context-stroke" />
          </marker>
        </defs>
        {EDGES.map(([from, to]) => {
          const [x1, y1] = exit(AT[from], AT[to]);
          const [x2, y2] = exit(AT[to], AT[from]);
          const on = taken.has(`${from}>${to}`);
          return (
            <line
              key={`${from}>${to}`}
              x1={x1}
              y1={y1}
              x2={x2}
              y2={y2}
              class={on ? "edge taken" : "edge"}
              data-edge={`${from}>${to}`}
              data-taken={on ? "true" : "false"}
              marker-end="url(#arrow)"
            >
              <title>{on ? `${label(from)} → ${label(to)} by ${movedBy[to] || "?"}` : `${label(from)} → ${label(to)}`}</title>
            </line>
          );
        })}
        {STATUSES.map((s) => {
          const [x, y] = AT[s];
          const cls = ["state", visited.has(s) ? "visited" : "", s === current ? "current" : ""].join(" ");
          return (
            <g key={s} class={cls} data-state={s} data-visited={visited.has(s) ? "true" : "false"}>
              <rect x={x} y={y} width={W} height={H} rx="8" />
              <text x={x + W / 2} y={y + H / 2 + 5} text-anchor="middle">
                {label(s)}
              </text>
            </g>
          );
        })}
      </svg>
      <figcaption>
        <ol class="path" aria-label="path taken">
          {history.map((h) => (
            <li key={h.position}>
              <Status value={h.status} /> <span class="muted">at {clock(h.time)}, position {h.position}</span>
            </li>
          ))}
        </ol>
      </figcaption>
    </figure>
  );
}

// Every page of the order's timeline (at most 10,000 events).
async function wholeTimeline(id) {
  let events = [];
  let after;
  for (let page = 0; page < 10; page++) {
    const t = await api(`/orders/${encodeURIComponent(id)}/timeline${query({ limit: 1000, after })}`);
    events = events.concat(t.events);
    if (!t.next) return { ...t, events };
    after = t.next;
  }
  return { events, truncated: true };
}

function Saga({ id, reload }) {
  const { can } = useSession();
  const saga = usePoll(() => (can("admin") ? api(`/sagas/${encodeURIComponent(id)}`) : null), 2000, [id]);
  if (!can("admin")) return <NeedsScope scope="admin" what="The saga's state" />;
  if (saga.error?.status === 404) return <p class="muted">No saga has started for this order yet.</p>;
  const s = saga.data;
  return (
    <>
      <Problem error={saga.error} />
      {s && (
        <dl class="pairs" data-testid="saga">
          <dt>phase</dt>
          <dd>
            <Status value={s.phase} />
          </dd>
          {s.pending_step && (
            <>
              <dt>waiting on</dt>
              <dd>
                {label(s.pending_step)} (attempt {s.attempt}, deadline {clock(s.deadline)})
              </dd>
            </>
          )}
          {s.cancel_reason && (
            <>
              <dt>cancel reason</dt>
              <dd>{label(s.cancel_reason)}</dd>
            </>
          )}
        </dl>
      )}
      {s?.phase === "stuck" && (
        <ActionButton label={`Retry the stuck saga of ${id}`} onAction={async () => { await api(`/sagas/${encodeURIComponent(id)}/retry`, { method: "POST" }); saga.reload(); reload(); }}>
          Retry compensation
        </ActionButton>
      )}
    </>
  );
}

export function Order({ id }) {
  const { can } = useSession();
  const [settled, setSettled] = useState(false);
  const order = usePoll(() => api(`/orders/${encodeURIComponent(id)}`), settled ? 0 : 1000, [id]);
  const timeline = usePoll(() => wholeTimeline(id), settled ? 0 : 1000, [id]);
  const o = order.data;
  useEffect(() => {
    setSettled(false);
  }, [id]);
  useEffect(() => {
    if (o && TERMINAL.has(o.status) && timeline.data && timeline.data.events.some((e) => e.position >= o.position)) setSettled(true);
  }, [o, timeline.data]);
  if (!can("orders:read")) return <NeedsScope scope="orders:read" what="An order" />;
  if (order.error?.status === 404) {
    return (
      <>
        <h1>Order {id}</h1>
        <Problem error={order.error} />
      </>
    );
  }
  const events = timeline.data?.events || [];
  // The event that moved the order into each status it reached.
  const movedBy = {};
  for (const h of o?.history || []) movedBy[h.status] = events.find((e) => e.position === h.position)?.type;
  const compensations = events.filter((e) => COMPENSATIONS[e.type]);
  const reload = () => {
    setSettled(false);
    order.reload();
    timeline.reload();
  };
  return (
    <>
      <h1>
        Order {id} {o && <Status value={o.status} />}
      </h1>
      <Problem error={order.error || timeline.error} />
      {o && (
        <>
          <dl class="pairs">
            <dt>customer</dt>
            <dd>
              <a href={`#/lookups?customer=${encodeURIComponent(o.customer_id)}`}>{o.customer_id}</a>
            </dd>
            <dt>total</dt>
            <dd>{money(o.total_cents)}</dd>
            <dt>items</dt>
            <dd>
              {o.items.map((i) => (
                <span key={i.sku} class="item">
                  {i.quantity} × <a href={`#/lookups?sku=${encodeURIComponent(i.sku)}`}>{i.sku}</a> at {money(i.unit_price_cents)}
                </span>
              ))}
            </dd>
            <dt>payment</dt>
            <dd>{o.payment ? `${label(o.payment.status)} ${money(o.payment.amount_cents)}` : "–"}</dd>
            <dt>reservation</dt>
            <dd>{o.reservation ? label(o.reservation.status) : "–"}</dd>
            <dt>shipment</dt>
            <dd>{o.shipment ? `${label(o.shipment.status)}${o.shipment.reason ? ` (${label(o.shipment.reason)})` : ""}` : "–"}</dd>
            {o.cancel_reason && (
              <>
                <dt>cancel reason</dt>
                <dd data-testid="cancel-reason">{label(o.cancel_reason)}</dd>
              </>
            )}
            <dt>placed</dt>
            <dd>
              {day(o.history[0]?.time)} {clock(o.history[0]?.time)}
            </dd>
          </dl>
          {can("orders:write") && (
            <div class="toolbar">
              {["placed", "payment_processed", "inventory_reserved"].includes(o.status) && (
                <ActionButton label={`Cancel order ${id}`} kind="danger" onAction={async () => { await api(`/orders/${encodeURIComponent(id)}/cancel`, { method: "POST" }); reload(); }}>
                  Cancel order
                </ActionButton>
              )}
              {o.status === "shipment_initiated" && (
                <ActionButton label={`Mark order ${id} delivered`} onAction={async () => { await api(`/orders/${encodeURIComponent(id)}/deliver`, { method: "POST" }); reload(); }}>
                  Mark delivered
                </ActionButton>
              )}
            </div>
          )}
          <section aria-labelledby="machine-title">
            <h2 id="machine-title">State machine</h2>
            <StateMachine history={o.history} movedBy={movedBy} />
            <h3>Compensations run</h3>
            {compensations.length === 0 ? (
              <p class="muted">none</p>
            ) : (
              <ol class="compensations" data-testid="compensations">
                {compensations.map((e) => (
                  <li key={e.position}>
                    {COMPENSATIONS[e.type]} <span class="muted">({e.stream}, position {e.position})</span>
                  </li>
                ))}
              </ol>
            )}
          </section>
          <section aria-labelledby="saga-title">
            <h2 id="saga-title">Saga</h2>
            <Saga id={id} reload={reload} />
          </section>
        </>
      )}
      <section aria-labelledby="timeline-title">
        <h2 id="timeline-title">Timeline ({events.length} events)</h2>
        <EventTable events={events} caption="every event of the order's story, in log order" testid="timeline" />
      </section>
    </>
  );
}
