// Events: the log as it grows, from GET /events/stream, filtered by stream
// prefix and type, newest first; or, jumping to a position, the next 500
// events from there in log order, page by page.
import { useEffect, useRef, useState } from "preact/hooks";
import { api, followEvents } from "../api.js";
import { NeedsScope, Problem, useSession } from "../ui.jsx";
import { EventTable } from "../event_table.jsx";

const KEEP = 500;

export function Events({ params }) {
  const { can } = useSession();
  const [form, setForm] = useState({ stream: params.get("stream") || "", type: params.get("type") || "", from: params.get("from") || "" });
  const [tail, setTail] = useState({ ...form });
  const [paused, setPaused] = useState(false);
  const [rows, setRows] = useState([]);
  const [feed, setFeed] = useState({ live: false });
  const [done, setDone] = useState(false);
  const pending = useRef([]);
  const jumped = Boolean(tail.from);

  useEffect(() => {
    if (!can("events:read") || paused) return undefined;
    setRows([]);
    setDone(false);
    let stop = () => {};
    let cancelled = false;
    const start = async () => {
      // No position given: from the head on, so the page shows what happens now.
      let from = Number(tail.from);
      if (!tail.from) from = (await api("/events?from=1&limit=1")).head + 1;
      if (cancelled) return;
      stop = followEvents({
        from,
        stream: tail.stream.trim(),
        type: tail.type.trim(),
        limit: jumped ? KEEP : undefined,
        onState: setFeed,
        onEvent: (e) => pending.current.push(e),
        onDone: () => setDone(true),
      });
    };
    start().catch((error) => setFeed({ live: false, error }));
    // Events are shown in batches, at most ten times a second.
    const flush = setInterval(() => {
      if (pending.current.length === 0) return;
      const batch = pending.current;
      pending.current = [];
      if (jumped) setRows((r) => r.concat(batch));
      else setRows((r) => batch.reverse().concat(r).slice(0, KEEP));
    }, 100);
    return () => {
      cancelled = true;
      stop();
      clearInterval(flush);
      pending.current = [];
    };
  }, [tail, paused]);

  if (!can("events:read")) return <NeedsScope scope="events:read" what="The event log" />;
  const field = (name) => ({ value: form[name], onInput: (e) => setForm({ ...form, [name]: e.target.value }) });
  return (
    <>
      <h1>Events</h1>
      <form
        class="toolbar"
        aria-label="Filter the tail"
        onSubmit={(e) => {
          e.preventDefault();
          setPaused(false);
          setTail({ ...form });
        }}
      >
        <label for="ev-stream">Stream prefix</label>
        <input id="ev-stream" placeholder="order-" {...field("stream")} />
        <label for="ev-type">Types</label>
        <input id="ev-type" placeholder="order.placed.v1,order.cancelled.v1" size={28} {...field("type")} />
        <label for="ev-from">From position</label>
        <input id="ev-from" inputMode="numeric" placeholder="the head" size={10} {...field("from")} />
        <button type="submit">Tail</button>
        <button type="button" onClick={() => setPaused(!paused)} aria-pressed={paused ? "true" : "false"}>
          {paused ? "Resume" : "Pause"}
        </button>
      </form>
      <p aria-live="polite">
        <span class={feed.live && !paused ? "live" : "offline"}>{paused ? "paused" : done ? "page read" : feed.live ? "live" : "connecting"}</span>{" "}
        <span class="muted">{jumped ? `from position ${tail.from}, in log order, ${KEEP} at a time` : `newest first, the last ${KEEP} kept`}</span>
      </p>
      <Problem error={feed.error} />
      <EventTable events={rows} caption={jumped ? "events in log order" : "events, newest first"} testid="events-table" />
      {jumped && done && rows.length > 0 && (
        <button
          type="button"
          onClick={() => {
            const next = String(rows[rows.length - 1].position + 1);
            setForm({ ...form, from: next });
            setTail({ ...tail, from: next });
          }}
        >
          Next {KEEP} events
        </button>
      )}
    </>
  );
}
