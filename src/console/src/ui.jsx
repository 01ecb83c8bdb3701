// Small pieces every page uses: the session (who is signed in, what they
// may do), polling, problems, badges and expandable JSON.
import { createContext } from "preact";
import { useContext, useEffect, useRef, useState, useCallback } from "preact/hooks";
import { label } from "./format.js";

export const Session = createContext({ who: null, can: () => false });

export function useSession() {
  return useContext(Session);
}

// Calls load() now and every `ms` while the page is shown (0: once); new
// `deps` start again from nothing.
// Returns {data, error, loading, reload}.
export function usePoll(load, ms, deps = []) {
  const [state, setState] = useState({ data: undefined, error: null, loading: true });
  const generation = useRef(0);
  const run = useCallback(async () => {
    const mine = generation.current;
    try {
      const data = await load();
      if (mine === generation.current) setState({ data, error: null, loading: false });
    } catch (error) {
      if (mine === generation.current) setState((s) => ({ data: s.data, error, loading: false }));
    }
  }, deps);
  // New deps: what was shown belongs to other arguments.
  useEffect(() => {
    generation.current += 1;
    setState({ data: undefined, error: null, loading: true });
    run();
  }, [run]);
  // A new period keeps what is shown.
  useEffect(() => {
    if (!ms) return undefined;
    const timer = setInterval(() => {
      if (!document.hidden) run();
    }, ms);
    return () => clearInterval(timer);
  }, [run, ms]);
  useEffect(() => () => (generation.current += 1), []);
  return { ...state, reload: run };
}

export function Problem({ error }) {
  if (!error) return null;
  const title = error.problem?.title || "Error";
  return (
    <p class="problem" role="alert">
      <strong>{error.status ? `${error.status} ${title}` : title}:</strong> {error.message}
    </p>
  );
}

export function Status({ value }) {
  return <span class={`badge badge-${value}`}>{label(value)}</span>;
}

export function Json({ value, summary = "payload" }) {
  return (
    <details class="json">
      <summary>{summary}</summary>
      <pre>{JSON.stringify(value, null, 2)}</pre>
    </details>
  );
}

// Shown where the signed-in token lacks the scope a panel needs.
export function NeedsScope({ scope, what }) {
  return (
    <p class="muted">
      {what} needs the <code>{scope}</code> scope, which this token does not have.
    </p>
  );
}

// A button that runs an action, shows it running, and reports its problem.
export function ActionButton({ onAction, children, label: aria, kind = "" }) {
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState(null);
  const click = async () => {
    setBusy(true);
    setError(null);
    try {
      await onAction();
    } catch (err) {
      setError(err);
    } finally {
      setBusy(false);
    }
  };
  return (
    <span class="action">
      <button type="button" class={kind} onClick={click} disabled={busy} aria-label={aria}>
        {busy ? "…" : children}
      </button>
      {error && (
        <span class="problem inline" role="alert">
          {error.message}
        </span>
      )}
    </span>
  );
}
