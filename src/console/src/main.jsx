// The console: a shell (sign-in, navigation, health) around one page per
// concern, routed by the URL's hash (#/orders/o-1), so that the server
// serves the same three files for every page and a page's address can be
// shared.
import { render } from "preact";
import { useEffect, useState } from "preact/hooks";
import "uplot/dist/uPlot.min.css";
import "./style.css";
import { api, storeToken, storedToken, ApiError } from "./api.js";
import { Session, Problem, usePoll } from "./ui.jsx";
import { Overview } from "./pages/overview.jsx";
import { Orders } from "./pages/orders.jsx";
import { Order } from "./pages/order.jsx";
import { Sagas } from "./pages/sagas.jsx";
import { Components } from "./pages/components.jsx";
import { Events } from "./pages/events.jsx";
import { Lookups } from "./pages/lookups.jsx";

const PAGES = [
  ["overview", "Overview", ""],
  ["orders", "Orders", "orders"],
  ["sagas", "Sagas", "sagas"],
  ["components", "Components", "components"],
  ["events", "Events", "events"],
  ["lookups", "Lookups", "lookups"],
];

// "#/orders/o-1?x=1" -> {path: ["orders", "o-1"], params: URLSearchParams}
function parseHash() {
  const raw = location.hash.replace(/^#\/?/, "");
  const [path, search = ""] = raw.split("?");
  return { path: path.split("/").filter(Boolean).map(decodeURIComponent), params: new URLSearchParams(search) };
}

function useRoute() {
  const [route, setRoute] = useState(parseHash());
  useEffect(() => {
    const changed = () => setRoute(parseHash());
    addEventListener("hashchange", changed);
    return () => removeEventListener("hashchange", changed);
  }, []);
  return route;
}

function Page({ route }) {
  const [first, second] = route.path;
  switch (first) {
    case undefined:
      return <Overview />;
    case "orders":
      return second ? <Order id={second} /> : <Orders params={route.params} />;
    case "sagas":
      return <Sagas />;
    case "components":
      return <Components />;
    case "events":
      return <Events params={route.params} />;
    case "lookups":
      return <Lookups params={route.params} />;
    default:
      return <p role="alert">No page {first}. Pick one above.</p>;
  }
}

function HealthDot() {
  const health = usePoll(() => api("/health"), 2000);
  const status = health.error ? "unreachable" : health.data?.status ?? "…";
  return (
    <span class={`health health-${status}`} aria-live="polite" title={(health.data?.reasons || []).join("; ")}>
      server {status}
    </span>
  );
}

function SignIn({ error, onSignIn }) {
  const [token, setToken] = useState("");
  return (
    <main id="main" class="signin">
      <h1>ordersd console</h1>
      <form
        onSubmit={(e) => {
          e.preventDefault();
          onSignIn(token.trim());
        }}
      >
        <p>This server needs an API token (or a JWT). It is kept in this tab's session storage only.</p>
        <label for="token">API token</label>
        <input id="token" type="password" autocomplete="off" value={token} onInput={(e) => setToken(e.target.value)} required />
        <button type="submit">Sign in</button>
        <Problem error={error} />
      </form>
    </main>
  );
}

function App() {
  const route = useRoute();
  // undefined: asking the server who we are; null: not signed in.
  const [who, setWho] = useState(undefined);
  const [error, setError] = useState(null);

  const identify = async () => {
    try {
      setWho(await api("/whoami"));
      setError(null);
    } catch (err) {
      setWho(null);
      // A stored token the server no longer takes is dropped.
      if (err instanceof ApiError && err.status === 401 && storedToken()) {
        storeToken("");
        setError(err);
      } else if (!(err instanceof ApiError && err.status === 401)) {
        setError(err);
      }
    }
  };
  useEffect(() => {
    identify();
  }, []);

  if (who === undefined) return <p class="loading">Connecting…</p>;
  if (who === null) {
    return (
      <SignIn
        error={error}
        onSignIn={(token) => {
          storeToken(token);
          identify();
        }}
      />
    );
  }
  const scopes = new Set(who.scopes);
  const session = { who, can: (scope) => scopes.has(scope) };
  const current = route.path[0] ?? "";
  return (
    <Session.Provider value={session}>
      <a class="skip" href="#main" onClick={(e) => { e.preventDefault(); document.getElementById("main")?.focus(); }}>
        Skip to content
      </a>
      <header>
        <span class="brand">ordersd</span>
        <nav aria-label="Pages">
          <ul>
            {PAGES.map(([key, title, path]) => (
              <li key={key}>
                <a href={`#/${path}`} aria-current={current === path ? "page" : undefined}>
                  {title}
                </a>
              </li>
            ))}
          </ul>
        </nav>
        <HealthDot />
        <span class="who" title={who.scopes.join(" ")}>
          {who.open ? "open server (no credentials)" : `${who.caller}${who.customer_id ? ` · customer ${who.customer_id}` : ""}`}
        </span>
        {!who.open && (
          <button
            type="button"
            onClick={() => {
              storeToken("");
              setWho(null);
            }}
          >
            Sign out
          </button>
        )}
      </header>
      <main id="main" tabIndex={-1}>
        <Page route={route} />
      </main>
    </Session.Provider>
  );
}

render(<App />, document.getElementById("app"));
