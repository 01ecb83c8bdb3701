// How numbers and times read on screen.

export function money(cents) {
  if (cents === undefined || cents === null) return "–";
  return (cents / 100).toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}

export function count(n) {
  if (n === undefined || n === null) return "–";
  return Number(n).toLocaleString();
}

// "12:22:18.857" in the browser's time zone; the full ISO time is the title.
export function clock(iso) {
  if (!iso) return "–";
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  const pad = (n, w = 2) => String(n).padStart(w, "0");
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

export function day(iso) {
  if (!iso) return "–";
  const d = new Date(iso);
  return Number.isNaN(d.getTime()) ? iso : d.toLocaleDateString();
}

export function label(name) {
  return String(name ?? "").replaceAll("_", " ");
}

// The order a stream belongs to, when it is one of an order's own streams.
export function orderOfStream(stream) {
  const m = /^(order|saga|reservation|shipment)-(.+)$/.exec(stream || "");
  return m ? m[2] : null;
}
