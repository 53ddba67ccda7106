// Search (GET /api/chats/search/, snippets with <mark> highlights rendered as elements, the rest as
// text) and export (POST /api/chats/export/ in every format, saved through a download link).
import { request, query, attachmentName } from "./api.js";
import { byId, h, replace, announce, report, snippet, formatTime } from "./dom.js";
import { selection, select } from "./state.js";

const FORMATS = ["json", "jsonl", "csv", "txt", "pdf"];

export function init() {
  byId("search-form").addEventListener("submit", (event) => {
    event.preventDefault();
    search().catch(report);
  });
  replace(byId("export-buttons"), FORMATS.map((format) =>
    h("button", { type: "button", dataset: { format }, onclick: () => exportChats(format).catch(report) }, format.toUpperCase())));
}

export function shown() {
  byId("search-q").focus();
}

async function search() {
  const q = byId("search-q").value.trim();
  if (!q) return;
  const { results } = await request(`/api/chats/search/${query({
    q, in: byId("search-in").value, workspace: byId("search-this-workspace").checked ? selection.workspace : null, limit: 50,
  })}`);
  replace(byId("search-results"), results.length ? results.map((hit) => h("li", { class: "result card" },
    h("div", { class: "result-head" },
      h("span", { class: "badge" }, hit.workspace), hit.thread ? h("span", { class: "badge" }, hit.thread) : null,
      h("time", { datetime: hit.created_at }, formatTime(hit.created_at)),
      h("button", { type: "button", class: "link", onclick: () => openChat(hit) }, "Open conversation")),
    h("p", {}, h("strong", {}, "You: "), snippet(hit.prompt_snippet)),
    h("p", {}, h("strong", {}, "Assistant: "), snippet(hit.response_snippet))))
    : h("li", { class: "muted" }, "No chat matches."));
  announce(`${results.length} result${results.length === 1 ? "" : "s"}.`);
}

function openChat(hit) {
  const picker = byId("workspace-select");
  if ([...picker.options].some((option) => option.value === hit.workspace)) {
    picker.value = hit.workspace;
    picker.dispatchEvent(new Event("change"));
  }
  if (!hit.thread) select(hit.workspace, null);
  location.hash = "#chat";
}

async function exportChats(format) {
  const scope = byId("export-scope").value;
  const body = { format };
  if (scope !== "all") body.workspace = selection.workspace ?? undefined;
  if (scope === "thread" && selection.thread) body.thread = selection.thread;
  const response = await request("/api/chats/export/", { method: "POST", body, raw: true });
  const blob = await response.blob();
  const url = URL.createObjectURL(blob);
  const link = h("a", { href: url, download: attachmentName(response, `chats.${format}`), hidden: true });
  document.body.append(link);
  link.click();
  link.remove();
  // Revoked after the click has handed the blob to the download.
  setTimeout(() => URL.revokeObjectURL(url), 10000);
  announce(`Exported ${format.toUpperCase()} (${blob.size} bytes).`);
}
