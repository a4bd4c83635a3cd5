import { useState, type FormEvent } from "react";
import { useMutation, useQuery } from "convex/react";
import { api } from "../api";
import { ErrorNote, Loading, useRunner, useSession } from "../ui";

const COLORS = ["#6366f1", "#0ea5e9", "#10b981", "#f59e0b", "#ef4444", "#ec4899", "#64748b"];

export default function Tags() {
  const s = useSession();
  const list = useQuery(api.tags.list, { workspaceId: s.workspaceId });
  const create = useMutation(api.tags.create);
  const update = useMutation(api.tags.update);
  const remove = useMutation(api.tags.remove);
  const { error, setError, busy, run } = useRunner();
  const [name, setName] = useState("");
  const [color, setColor] = useState(COLORS[0]);
  const canManage = s.can("checklists.manage");

  async function add(e: FormEvent) {
    e.preventDefault();
    const ok = await run(() => create({ workspaceId: s.workspaceId, name: name.trim(), color }));
    if (ok !== undefined) setName("");
  }

  return (
    <div className="page">
      <h1>Tags</h1>
      <p className="muted">Label conversations to filter the inbox and report on topics.</p>
      {canManage && (
        <form className="card row" onSubmit={add} aria-label="New tag">
          <label className="grow">
            Tag name
            <input required value={name} onChange={(e) => setName(e.target.value)} placeholder="billing" />
          </label>
          <label>
            Colour
            <select value={color} onChange={(e) => setColor(e.target.value)} style={{ color }}>
              {COLORS.map((c) => (
                <option key={c} value={c} style={{ color: c }}>
                  ● {c}
                </option>
              ))}
            </select>
          </label>
          <button type="submit" disabled={busy}>
            Create tag
          </button>
        </form>
      )}
      <ErrorNote error={error} onDismiss={() => setError(null)} />
      {list === undefined ? (
        <Loading />
      ) : list.length === 0 ? (
        <p className="empty">No tags yet.</p>
      ) : (
        <ul className="tag-list">
          {list.map((t: any) => (
            <li key={t._id}>
              <span className="tag" style={{ borderColor: t.color || undefined }}>
                <span className="dot" style={{ background: t.color || "#888" }} aria-hidden="true" />
                {t.name}
              </span>
              {canManage && (
                <span className="actions">
                  <button
                    className="small secondary"
                    aria-label={`Rename tag ${t.name}`}
                    onClick={() => {
                      const n = prompt("Rename tag", t.name);
                      if (n && n.trim() !== t.name) run(() => update({ id: t._id, name: n.trim() }));
                    }}
                  >
                    Rename
                  </button>
                  <button className="small danger" aria-label={`Delete tag ${t.name}`} onClick={() => confirm(`Delete tag “${t.name}”? It is removed from every conversation.`) && run(() => remove({ id: t._id }))}>
                    Delete
                  </button>
                </span>
              )}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}
