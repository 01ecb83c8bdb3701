// Sagas: the stuck ones (their compensation waits on an operator) with
// retry, and the running ones (orders whose saga has not ended).
import { api, query } from "../api.js";
import { IN_FLIGHT } from "../lifecycle.js";
import { label } from "../format.js";
import { ActionButton, NeedsScope, Problem, usePoll, useSession } from "../ui.jsx";
import { OrderTable } from "./orders.jsx";

function Stuck() {
  const { can } = useSession();
  const stuck = usePoll(() => (can("admin") ? api("/sagas?status=stuck") : null), 2000);
  if (!can("admin")) return <NeedsScope scope="admin" what="The stuck sagas" />;
  const sagas = stuck.data?.sagas || [];
  return (
    <>
      <Problem error={stuck.error} />
      <table data-testid="stuck-sagas">
        <caption class="sr-only">stuck sagas</caption>
        <thead>
          <tr>
            <th scope="col">order</th>
            <th scope="col">compensation waiting</th>
            <th scope="col">action</th>
          </tr>
        </thead>
        <tbody>
          {sagas.length === 0 && (
            <tr>
              <td colSpan={3} class="muted">
                no stuck sagas
              </td>
            </tr>
          )}
          {sagas.map((s) => (
            <tr key={s.order_id}>
              <th scope="row">
                <a href={`#/orders/${encodeURIComponent(s.order_id)}`}>{s.order_id}</a>
              </th>
              <td>{label(s.step)}</td>
              <td>
                <ActionButton
                  label={`Retry the stuck saga of ${s.order_id}`}
                  onAction={async () => {
                    await api(`/sagas/${encodeURIComponent(s.order_id)}/retry`, { method: "POST" });
                    stuck.reload();
                  }}
                >
                  Retry
                </ActionButton>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </>
  );
}

function Running() {
  const { can } = useSession();
  const running = usePoll(
    async () => {
      if (!can("orders:read")) return null;
      const pages = await Promise.all(IN_FLIGHT.map((status) => api(`/orders${query({ status, limit: 25 })}`)));
      return pages.flatMap((p) => p.orders).sort((a, b) => b.placed_position - a.placed_position);
    },
    2000,
  );
  if (!can("orders:read")) return <NeedsScope scope="orders:read" what="The running sagas" />;
  return (
    <>
      <p class="muted">
        Orders in {IN_FLIGHT.map(label).join(", ")}: their sagas are under way (up to 25 per status, newest first).
      </p>
      <Problem error={running.error} />
      <OrderTable orders={running.data || []} caption="orders whose saga is running" />
    </>
  );
}

export function Sagas() {
  return (
    <>
      <h1>Sagas</h1>
      <section aria-labelledby="stuck-title">
        <h2 id="stuck-title">Stuck</h2>
        <Stuck />
      </section>
      <section aria-labelledby="running-title">
        <h2 id="running-title">Running</h2>
        <Running />
      </section>
    </>
  );
}
