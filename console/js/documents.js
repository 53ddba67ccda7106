// Documents of the selected workspace: upload (multipart), pin/unpin, delete.
import { request } from "./api.js";
import { byId, h, replace, announce, report } from "./dom.js";
import { selection } from "./state.js";

export function init() {
  byId("document-upload").addEventListener("submit", async (event) => {
    event.preventDefault();
    const file = byId("document-file").files[0];
    if (!file || !selection.workspace) return;
    const form = new FormData();
    form.append("file", file, file.name);
    try {
      const document = await request(`/api/workspaces/${encodeURIComponent(selection.workspace)}/documents/`, { method: "POST", form });
      byId("document-file").value = "";
      announce(`Uploaded “${document.name}” (${document.chunks} chunks).`);
      await load();
    } catch (error) { report(error); }
  });
}

export function shown() {
  load().catch(report);
}

export function selectionChanged() {
  if (!byId("view-documents").hidden) load().catch(report);
}

function base() {
  return `/api/workspaces/${encodeURIComponent(selection.workspace)}/documents`;
}

async function load() {
  const body = byId("documents-body");
  if (!selection.workspace) return replace(body, h("tr", {}, h("td", { colspan: 5 }, "Create a workspace first.")));
  const { documents } = await request(`${base()}/`);
  replace(body, documents.length ? documents.map((doc) => {
    const pinId = `pin-${doc.id}`;
    const pin = h("input", { type: "checkbox", id: pinId, checked: doc.pinned });
    pin.addEventListener("change", async () => {
      try {
        const updated = await request(`${base()}/${doc.id}`, { method: "PATCH", body: { pinned: pin.checked } });
        pin.checked = updated.pinned;
        announce(updated.pinned ? `“${doc.name}” is pinned: always in the context.` : `“${doc.name}” is unpinned.`);
      } catch (error) { pin.checked = !pin.checked; report(error); }
    });
    const remove = h("button", { type: "button", class: "secondary", "aria-label": `Delete ${doc.name}` }, "Delete");
    remove.addEventListener("click", async () => {
      try {
        await request(`${base()}/${doc.id}`, { method: "DELETE", raw: true });
        announce(`Deleted “${doc.name}”.`);
        await load();
      } catch (error) { report(error); }
    });
    return h("tr", { dataset: { documentId: doc.id } },
      h("td", {}, doc.name), h("td", {}, formatSize(doc.size)), h("td", {}, String(doc.chunks)),
      h("td", {}, h("label", { for: pinId }, pin, h("span", { class: "visually-hidden" }, ` pin ${doc.name}`))),
      h("td", {}, remove));
  }) : h("tr", {}, h("td", { colspan: 5, class: "muted" }, "No documents yet.")));
}

function formatSize(bytes) {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
