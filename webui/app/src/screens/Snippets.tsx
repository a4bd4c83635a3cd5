import { useState, type FormEvent } from "react";
import { useMutation, useQuery } from "convex/react";
import { api } from "../api";
import { ErrorNote, Loading, useRunner, useSession } from "../ui";

export default function Snippets() {
  const s = useSession();
  const list = useQuery(api.snippets.list, { workspaceId: s.workspaceId });
  const create = useMutation(api.snippets.create);
  const update = useMutation(api.snippets.update);
  const remove = useMutation(api.snippets.remove);
  const { error, setError, busy, run } = useRunner();
  const [editing, setEditing] = useState<any | null>(null);
  const [name, setName] = useState("");
  const [shortcut, setShortcut] = useState("");
  const [content, setContent] = useState("");
  const canManage = s.can("snippets.manage");

  function edit(sn: any | null) {
    setEditing(sn);
    setName(sn?.name ?? "");
    setShortcut(sn?.shortcut ?? "");
    setContent(sn?.content ?? "");
  }

  async function save(e: FormEvent) {
    e.preventDefault();
    const args = { name: name.trim(), content, shortcut: shortcut.trim().replace(/^\//, "") || undefined };
    const ok = await run(() => (editing ? update({ id: editing._id, ...args }) : create({ workspaceId: s.workspaceId, ...args })));
    if (ok !== undefined) edit(null);
  }

  return (
    <div className="page">
      <h1>Snippets</h1>
      <p className="muted">Saved replies. Type <kbd>/</kbd> and the shortcut in the reply box to insert one.</p>
      {canManage && (
        <form className="card form-grid" onSubmit={save} aria-label={editing ? "Edit snippet" : "New snippet"}>
          <h2>{editing ? `Edit “${editing.name}”` : "New snippet"}</h2>
          <label>
            Name
            <input required value={name} onChange={(e) => setName(e.target.value)} />
          </label>
          <label>
            Shortcut
            <input value={shortcut} onChange={(e) => setShortcut(e.target.value)} placeholder="greeting" pattern="/?[\w-]*" />
          </label>
          <label className="full">
            Content
            <textarea required rows={3} value={content} onChange={(e) => setContent(e.target.value)} />
          </label>
          <ErrorNote error={error} onDismiss={() => setError(null)} />
          <div className="full row">
            <button type="submit" disabled={busy}>
              {editing ? "Save snippet" : "Create snippet"}
            </button>
            {editing && (
              <button type="button" className="secondary" onClick={() => edit(null)}>
                Cancel
              </button>
            )}
          </div>
        </form>
      )}
      {list === undefined ? (
        <Loading />
      ) : list.length === 0 ? (
        <p className="empty">No snippets yet.</p>
      ) : (
        <table className="table">
          <thead>
            <tr>
              <th>Shortcut</th>
              <th>Name</th>
              <th>Content</th>
              {canManage && <th aria-label="Actions" />}
            </tr>
          </thead>
          <tbody>
            {list.map((sn: any) => (
              <tr key={sn._id}>
                <td>{sn.shortcut ? <code>/{sn.shortcut}</code> : "—"}</td>
                <td>{sn.name}</td>
                <td className="clip">{sn.content}</td>
                {canManage && (
                  <td className="actions">
                    <button className="small secondary" onClick={() => edit(sn)} aria-label={`Edit snippet ${sn.name}`}>
                      Edit
                    </button>
                    <button className="small danger" onClick={() => confirm(`Delete snippet “${sn.name}”?`) && run(() => remove({ id: sn._id }))} aria-label={`Delete snippet ${sn.name}`}>
                      Delete
                    </button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </div>
  );
}
