// Components: the saga participants (pause, resume), every supervised
// component (retry or skip a failed one), and the views (rebuild, with its
// progress).
import { useState } from "preact/hooks";
import { api } from "../api.js";
import { count } from "../format.js";
import { ActionButton, NeedsScope, Problem, Status, usePoll, useSession } from "../ui.jsx";
import { ComponentTable } from "./overview.jsx";

function Participants() {
  const list = usePoll(() => api("/participants"), 1000);
  const act = async (name, verb) => {
    await api(`/participants/${encodeURIComponent(name)}/${verb}`, { method: "POST" });
    list.reload();
  };
  return (
    <section aria-labelledby="participants-title">
      <h2 id="participants-title">Saga participants</h2>
      <p class="muted">A paused participant stops reading the log: orders wait at its step until it resumes.</p>
      <Problem error={list.error} />
      <ComponentTable
        components={list.data?.participants || []}
        actions={(p) =>
          p.paused ? (
            <ActionButton label={`Resume ${p.name}`} onAction={() => act(p.name, "resume")}>
              Resume
            </ActionButton>
          ) : (
            <ActionButton label={`Pause ${p.name}`} onAction={() => act(p.name, "pause")}>
              Pause
            </ActionButton>
          )
        }
      />
    </section>
  );
}

function SkipForm({ component, onDone }) {
  const [position, setPosition] = useState("");
  const id = `skip-${component.name}`;
  return (
    <form
      class="inline-form"
      onSubmit={async (e) => {
        e.preventDefault();
      }}
    >
      <label for={id}>position</label>
      <input id={id} inputMode="numeric" size={8} value={position} onInput={(e) => setPosition(e.target.value)} />
      <ActionButton
        label={`Skip the event ${component.name} failed on`}
        onAction={async () => {
          await api(`/admin/components/${encodeURIComponent(component.name)}/skip`, { method: "POST", json: { position: Number(position) } });
          onDone();
        }}
      >
        Skip
      </ActionButton>
    </form>
  );
}

function Supervised() {
  const list = usePoll(() => api("/admin/components"), 1000);
  return (
    <section aria-labelledby="supervised-title">
      <h2 id="supervised-title">Supervised components</h2>
      <Problem error={list.error} />
      <ComponentTable
        components={list.data?.components || []}
        actions={(c) =>
          c.state === "failed" ? (
            <>
              <ActionButton
                label={`Retry ${c.name}`}
                onAction={async () => {
                  await api(`/admin/components/${encodeURIComponent(c.name)}/retry`, { method: "POST" });
                  list.reload();
                }}
              >
                Retry
              </ActionButton>
              <SkipForm component={c} onDone={list.reload} />
            </>
          ) : null
        }
      />
    </section>
  );
}

function Views() {
  const views = usePoll(() => api("/admin/views"), 1000);
  return (
    <section aria-labelledby="views-title">
      <h2 id="views-title">Views</h2>
      <Problem error={views.error} />
      <table data-testid="views">
        <caption class="sr-only">views</caption>
        <thead>
          <tr>
            <th scope="col">view</th>
            <th scope="col" class="num">generation</th>
            <th scope="col" class="num">position</th>
            <th scope="col" class="num">lag</th>
            <th scope="col">rebuild</th>
          </tr>
        </thead>
        <tbody>
          {(views.data?.views || []).map((v) => (
            <tr key={v.name} data-view={v.name}>
              <th scope="row">{v.name}</th>
              <td class="num">{v.generation}</td>
              <td class="num">{count(v.position)}</td>
              <td class="num">{count(v.lag)}</td>
              <td>
                {v.failure && <span class="error-text">{v.failure} </span>}
                {v.rebuild_failure && <span class="error-text">rebuild failed: {v.rebuild_failure.reason} </span>}
                {v.rebuild ? (
                  <>
                    <progress max="100" value={v.rebuild.percent} aria-label={`rebuild of ${v.name}`} />{" "}
                    {v.rebuild.percent.toFixed(1)}% ({count(v.rebuild.position)} of {count(v.rebuild.head)})
                  </>
                ) : (
                  <ActionButton
                    label={`Rebuild ${v.name}`}
                    onAction={async () => {
                      await api(`/admin/views/${encodeURIComponent(v.name)}/rebuild`, { method: "POST" });
                      views.reload();
                    }}
                  >
                    Rebuild
                  </ActionButton>
                )}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

export function Components() {
  const { can } = useSession();
  return (
    <>
      <h1>Components</h1>
      {can("admin") ? (
        <>
          <Participants />
          <Supervised />
          <Views />
        </>
      ) : (
        <NeedsScope scope="admin" what="Operating components" />
      )}
    </>
  );
}
