// The console's only way to the server: the public HTTP API, on the origin
// that served the console, with the signed-in token as a Bearer credential.
// The token lives in sessionStorage: it goes when the tab closes.

const TOKEN_KEY = "ordersd.token";

export function storedToken() {
  return sessionStorage.getItem(TOKEN_KEY) || "";
}

export function storeToken(token) {
  if (token) sessionStorage.setItem(TOKEN_KEY, token);
  else sessionStorage.removeItem(TOKEN_KEY);
}

function headers(extra = {}) {
  const h = { Accept: "application/json", ...extra };
  const token = storedToken();
  if (token) h.Authorization = `Bearer ${token}`;
  return h;
}

// An answer that is not 2xx. `problem` is the problem+json body when there is one.
export class ApiError extends Error {
  constructor(status, problem, path) {
    super(problem?.detail || problem?.title || `${status} from ${path}`);
    this.status = status;
    this.problem = problem;
    this.path = path;
  }
}

async function body(response) {
  const text = await response.text();
  if (!text) return null;
  try {
    return JSON.parse(text);
  } catch {
    return { detail: text };
  }
}

// GET or POST `path`; resolves to the JSON body of a 2xx answer, rejects
// with ApiError otherwise.
export async function api(path, { method = "GET", json, signal } = {}) {
  const init = { method, headers: headers(json !== undefined ? { "Content-Type": "application/json" } : {}), signal };
  if (json !== undefined) init.body = JSON.stringify(json);
  const response = await fetch(path, init);
  const answer = await body(response);
  if (!response.ok) throw new ApiError(response.status, answer, path);
  return answer;
}

export function query(params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}

// Follows GET /events/stream (Server-Sent Events) read through fetch, since
// EventSource cannot send an Authorization header. Calls onEvent(event) for
// each event in log order and resumes after the last one it saw whenever the
// feed ends (limit, max_ms, shutdown, a dropped slow reader) or the
// connection breaks, waiting a little longer after each failure. With
// `limit`, it reads that many events and calls onDone() instead.
// Returns stop().
export function followEvents({ from, stream, type, limit, onEvent, onState, onDone }) {
  const controller = new AbortController();
  let lastId = from ? from - 1 : 0;
  let stopped = false;
  let backoff = 250;
  let seen = 0;

  const run = async () => {
    while (!stopped) {
      try {
        const params = { stream, type, heartbeat_ms: 5000 };
        if (limit) params.limit = limit - seen;
        if (lastId > 0) params.from = lastId + 1;
        else if (from !== undefined) params.from = from;
        const response = await fetch(`/events/stream${query(params)}`, {
          headers: headers({ Accept: "text/event-stream" }),
          signal: controller.signal,
        });
        if (!response.ok) {
          const problem = await body(response);
          onState?.({ live: false, error: new ApiError(response.status, problem, "/events/stream") });
          if (response.status === 401 || response.status === 403 || response.status === 400) return;
        } else {
          onState?.({ live: true });
          backoff = 250;
          await readSse(response.body, (message) => {
            if (message.event === "end" || message.event === "dropped") return;
            if (!message.data) return;
            const event = JSON.parse(message.data);
            lastId = event.position;
            seen += 1;
            onEvent(event);
          });
          if (limit && seen >= limit) {
            stopped = true;
            onState?.({ live: false });
            onDone?.();
            return;
          }
          if (!stopped) onState?.({ live: false });
        }
      } catch (err) {
        if (stopped) return;
        onState?.({ live: false, error: err });
      }
      if (stopped) return;
      await new Promise((resolve) => setTimeout(resolve, backoff));
      backoff = Math.min(backoff * 2, 5000);
    }
  };
  run();
  return () => {
    stopped = true;
    controller.abort();
  };
}

// Parses a text/event-stream body (https://html.spec.whatwg.org/#event-stream-interpretation)
// into {event, data, id} messages.
async function readSse(stream, onMessage) {
  const reader = stream.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  let message = { event: "message", data: "", id: undefined };
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let newline;
    while ((newline = buffer.indexOf("\n")) >= 0) {
      let line = buffer.slice(0, newline);
      buffer = buffer.slice(newline + 1);
      if (line.endsWith("\r")) line = line.slice(0, -1);
      if (line === "") {
        if (message.data || message.event !== "message") onMessage(message);
        message = { event: "message", data: "", id: undefined };
        continue;
      }
      if (line.startsWith(":")) continue;
      const colon = line.indexOf(":");
      const field = colon < 0 ? line : line.slice(0, colon);
      let value = colon < 0 ? "" : line.slice(colon + 1);
      if (value.startsWith(" ")) value = value.slice(1);
      if (field === "data") message.data = message.data ? `${message.data}\n${value}` : value;
      else if (field === "event") message.event = value;
      else if (field === "id") message.id = value;
    }
  }
}
