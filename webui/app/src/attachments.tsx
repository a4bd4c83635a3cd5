// File attachments (supportAttachments): upload in three steps —
// generateUploadUrl, POST the bytes to it, finalizeUpload — then send the
// staged attachment ids with the message.
import { useState } from "react";
import { useMutation } from "convex/react";
import { api } from "./api";

export const MAX_ATTACHMENTS = 5;
export const ACCEPT = ".png,.jpg,.jpeg,.gif,.webp,.pdf,.txt,.csv,.json,.zip";

export type Staged = { attachmentId: string; fileName: string; mimeType: string; size: number };

export function formatSize(n: number): string {
  if (n < 1024) return `${n} B`;
  if (n < 1024 * 1024) return `${Math.round(n / 1024)} KB`;
  return `${(n / (1024 * 1024)).toFixed(1)} MB`;
}

// useUploads keeps the composer's staged files and uploads new ones.
export function useUploads(workspaceId: string) {
  const generate = useMutation(api.attachments.generateUploadUrl);
  const finalize = useMutation(api.attachments.finalizeUpload);
  const [staged, setStaged] = useState<Staged[]>([]);
  const [uploading, setUploading] = useState(0);

  async function add(files: File[]): Promise<string | null> {
    let error: string | null = null;
    const room = MAX_ATTACHMENTS - staged.length;
    if (files.length > room) {
      error = `You can attach up to ${MAX_ATTACHMENTS} files at a time.`;
      files = files.slice(0, Math.max(0, room));
    }
    setUploading((n) => n + files.length);
    for (const file of files) {
      try {
        const url: string = await generate({ workspaceId });
        const res = await fetch(url, { method: "POST", headers: { "Content-Type": file.type || "application/octet-stream" }, body: file });
        if (res.status === 413) throw new Error("File exceeds 10MB maximum size.");
        if (!res.ok) throw new Error("Upload failed");
        const { storageId } = await res.json();
        const r: any = await finalize({ workspaceId, storageId, fileName: file.name });
        if (r.status !== "staged") throw new Error(r.message ?? "Upload rejected");
        setStaged((cur) => [...cur, { attachmentId: r.attachmentId, fileName: r.fileName, mimeType: r.mimeType, size: r.size }]);
      } catch (e: any) {
        error = `${file.name}: ${e?.data?.message ?? e?.message ?? "upload failed"}`;
      } finally {
        setUploading((n) => n - 1);
      }
    }
    return error;
  }

  const remove = (id: string) => setStaged((cur) => cur.filter((a) => a.attachmentId !== id));
  const clear = () => setStaged([]);
  return { staged, uploading, add, remove, clear, setStaged };
}

export function StagedChips({ staged, onRemove }: { staged: Staged[]; onRemove: (id: string) => void }) {
  if (staged.length === 0) return null;
  return (
    <ul className="attach-chips" aria-label="Attached files">
      {staged.map((a) => (
        <li key={a.attachmentId} className="attach-chip">
          <span className="attach-name">{a.fileName}</span> <span className="muted">{formatSize(a.size)}</span>
          <button className="icon-btn" aria-label={`Remove ${a.fileName}`} onClick={() => onRemove(a.attachmentId)}>
            ×
          </button>
        </li>
      ))}
    </ul>
  );
}

// Attachments shows a message's (or ticket's) attachment descriptors:
// images as thumbnails linking to the file, anything else as a download.
export function Attachments({ items }: { items: any[] | undefined }) {
  if (!Array.isArray(items) || items.length === 0) return null;
  return (
    <div className="msg-attachments">
      {items.map((a) =>
        !a.url ? (
          <span key={a._id} className="attachment">{a.fileName}</span>
        ) : a.mimeType?.startsWith("image/") ? (
          <a key={a._id} className="attachment image" href={a.url} target="_blank" rel="noopener noreferrer" title={a.fileName}>
            <img src={a.url} alt={a.fileName} loading="lazy" />
          </a>
        ) : (
          <a key={a._id} className="attachment file" href={a.url} download={a.fileName} rel="noopener noreferrer">
            {a.fileName} <span className="muted">({formatSize(a.size)})</span>
          </a>
        ),
      )}
    </div>
  );
}
