// Events as a table: position, time, stream (linked to its order), type, and
// the event's payload and ids behind a disclosure. The order page's timeline
// and the events page's tail both show events this way.
import { COMPENSATIONS } from "./lifecycle.js";
import { clock, orderOfStream } from "./format.js";
import { Json } from "./ui.jsx";

export function EventTable({ events, caption, testid }) {
  return (
    <table data-testid={testid}>
      <caption class="sr-only">{caption}</caption>
      <thead>
        <tr>
          <th scope="col" class="num">position</th>
          <th scope="col">time</th>
          <th scope="col">stream</th>
          <th scope="col">type</th>
          <th scope="col">payload</th>
        </tr>
      </thead>
      <tbody>
        {events.map((e) => {
          const order = orderOfStream(e.stream);
          return (
            <tr key={e.position} data-position={e.position} data-type={e.type} class={COMPENSATIONS[e.type] ? "compensation" : ""}>
              <td class="num">{e.position}</td>
              <td title={e.time}>{clock(e.time)}</td>
              <td>
                {order ? <a href={`#/orders/${encodeURIComponent(order)}`}>{e.stream}</a> : e.stream}{" "}
                <span class="muted">v{e.version}</span>
              </td>
              <td>{e.type}</td>
              <td>
                <Json value={{ payload: e.payload, id: e.id, correlation_id: e.correlation_id, causation_id: e.causation_id }} summary="show" />
              </td>
            </tr>
          );
        })}
      </tbody>
    </table>
  );
}
