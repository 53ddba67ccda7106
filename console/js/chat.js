// Chat view: history of the selected thread, streamed answers over SSE (POST /api/chats/stream_chat/,
// PROTOCOL §4), sources, feedback, include/exclude, reset and stop.
import { request, query, serverSentEvents } from "./api.js";
import { byId, h, replace, announce, report, formatTime } from "./dom.js";
import { renderMarkdown } from "./markdown.js";
import { selection } from "./state.js";

let streaming = null; // the AbortController of the answer being streamed
let loadedFor = null;

export function init() {
  const form = byId("chat-form");
  const input = byId("chat-input");
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const message = input.value.trim();
    if (!message || streaming) return;
    input.value = "";
    send(message).catch(report);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  byId("chat-stop").addEventListener("click", () => streaming?.abort());
  byId("chat-reset").addEventListener("click", async () => {
    if (!selection.workspace) return;
    try {
      const result = await request("/api/chats/reset/", { method: "POST", body: { workspace: selection.workspace, thread: selection.thread ?? undefined } });
      announce(`${result.reset} chats no longer used as context.`);
      await loadHistory();
    } catch (error) { report(error); }
  });
}

export function shown() {
  const key = `${selection.workspace}/${selection.thread}`;
  if (loadedFor !== key) loadHistory().catch(report);
  byId("chat-input").focus();
}

export function selectionChanged() {
  loadedFor = null;
  if (!byId("view-chat").hidden) shown();
}

async function loadHistory() {
  const log = byId("chat-log");
  loadedFor = `${selection.workspace}/${selection.thread}`;
  if (!selection.workspace) {
    replace(log, h("li", { class: "muted" }, "Create a workspace to start chatting."));
    return;
  }
  const scope = { workspace: selection.workspace, thread: selection.thread };
  const [{ history }, { chats }] = await Promise.all([
    request(`/api/chats/history/${query({ ...scope, include_excluded: true, limit: 100 })}`),
    request(`/api/chats/${query({ ...scope, limit: 500 })}`),
  ]);
  const included = new Map(chats.map((chat) => [chat.db_id, chat.include]));
  const turns = [];
  for (let index = 0; index + 1 < history.length; index += 2) {
    const [prompt, answer] = [history[index], history[index + 1]];
    const turn = makeTurn(prompt.content, prompt.sent_at);
    turn.render(answer.content);
    turn.setSources(answer.sources ?? []);
    turn.finish({ dbId: answer.chat_id, feedback: answer.feedback ?? null, include: included.get(answer.chat_id) ?? true,
                  status: answer.status });
    turns.push(turn.element);
  }
  replace(log, turns.length ? turns : h("li", { class: "muted empty" }, "No messages in this thread yet."));
  log.lastElementChild?.scrollIntoView({ block: "end" });
}

/** One exchange in the log: the prompt, the streamed answer, its sources and its controls. */
function makeTurn(prompt, sentAt) {
  const content = h("div", { class: "content" });
  const sources = h("div", { class: "sources" });
  const meta = h("div", { class: "meta" });
  const answer = h("div", { class: "msg assistant", "aria-busy": "true" }, h("span", { class: "who" }, "Assistant"), content, sources, meta);
  const element = h("li", { class: "turn" },
    h("div", { class: "msg user" }, h("span", { class: "who" }, "You"),
      sentAt ? h("time", { datetime: sentAt }, formatTime(sentAt)) : null, h("p", {}, prompt)),
    answer);
  let text = "";
  let frame = 0;
  return {
    element,
    append(token) {
      text += token;
      // One re-render per animation frame however fast tokens arrive.
      if (!frame) frame = requestAnimationFrame(() => { frame = 0; replace(content, renderMarkdown(text)); });
    },
    render(full) {
      text = full;
      if (frame) { cancelAnimationFrame(frame); frame = 0; }
      replace(content, renderMarkdown(text));
    },
    get text() { return text; },
    setStatus(label) { replace(meta, h("span", { class: "badge" }, label)); },
    setSources(list) { renderSources(sources, list); },
    finish({ dbId, feedback, include, status, metrics }) {
      answer.removeAttribute("aria-busy");
      answer.dataset.dbId = dbId ?? "";
      replace(meta, controls({ dbId, feedback, include }),
        status && status !== "completed" ? h("span", { class: "badge warn" }, status) : null,
        metrics ? h("span", { class: "muted" }, `${Math.round(metrics.duration_ms)} ms · ${metrics.tokens_per_s?.toFixed?.(1) ?? "–"} tokens/s`) : null);
    },
  };
}

export function renderSources(container, list) {
  if (!list?.length) { container.replaceChildren(); return; }
  replace(container, h("details", { class: "source-list" },
    h("summary", {}, `Sources: ${[...new Set(list.map((source) => source.title ?? `document ${source.document_id}`))].join(", ")}`),
    h("ol", {}, list.map((source) => h("li", {},
      h("strong", {}, source.title ?? `document ${source.document_id}`),
      typeof source.score === "number" ? h("span", { class: "muted" }, ` · score ${source.score.toFixed(2)}`) : null,
      h("blockquote", {}, source.chunk ?? ""))))));
}

function controls({ dbId, feedback, include }) {
  if (!dbId) return null;
  let current = feedback;
  // Words, not emoji: they read the same to a screen reader and need no emoji font.
  const up = h("button", { type: "button", class: "icon", "aria-label": "Good answer", title: "Good answer" }, "▲ good");
  const down = h("button", { type: "button", class: "icon", "aria-label": "Bad answer", title: "Bad answer" }, "▼ bad");
  const paint = () => {
    up.setAttribute("aria-pressed", String(current === true));
    down.setAttribute("aria-pressed", String(current === false));
  };
  const vote = (value) => async () => {
    const next = current === value ? null : value;
    try {
      const chat = await request("/api/chats/feedback/", { method: "POST", body: { chat_id: dbId, feedback: next } });
      current = chat.feedback;
      paint();
    } catch (error) { report(error); }
  };
  up.addEventListener("click", vote(true));
  down.addEventListener("click", vote(false));
  paint();
  const id = `include-${dbId}`;
  const box = h("input", { type: "checkbox", id, checked: include !== false });
  box.addEventListener("change", async () => {
    try {
      const chat = await request(`/api/chats/${dbId}`, { method: "PATCH", body: { include: box.checked } });
      box.checked = chat.include;
      announce(chat.include ? "This exchange is used as context again." : "This exchange is left out of the context.");
    } catch (error) {
      box.checked = !box.checked;
      report(error);
    }
  });
  return h("span", { class: "controls" }, up, down, h("label", { for: id, class: "include" }, box, " use as context"));
}

async function send(message) {
  if (!selection.workspace) return announce("Create or pick a workspace first.", "error");
  const log = byId("chat-log");
  log.querySelector(".empty")?.remove();
  const turn = makeTurn(message, new Date().toISOString());
  log.append(turn.element);
  turn.element.scrollIntoView({ block: "end" });
  const controller = new AbortController();
  streaming = controller;
  byId("chat-send").disabled = true;
  byId("chat-stop").disabled = false;
  let finished = false;
  try {
    const mode = byId("chat-mode").value;
    const response = await request("/api/chats/stream_chat/", {
      method: "POST", raw: true, signal: controller.signal,
      body: { message, workspace: selection.workspace, thread: selection.thread ?? undefined, mode: mode || undefined },
    });
    for await (const { data: frame } of serverSentEvents(response)) {
      switch (frame.type) {
        case "chat_queued": turn.setStatus(`queued (position ${frame.position})`); break;
        case "chat_token": turn.append(frame.token); break;
        case "sources": turn.setSources(frame.sources); break;
        case "chat_complete":
          finished = true;
          turn.render(frame.response ?? turn.text);
          turn.finish({ dbId: frame.db_id, feedback: null, include: true, status: frame.status, metrics: frame.metrics });
          break;
        case "error":
          finished = true;
          turn.render(turn.text);
          turn.finish({ dbId: frame.db_id, feedback: null, include: true, status: "failed" });
          announce(frame.message, "error");
          break;
        default: break;
      }
      turn.element.scrollIntoView({ block: "end" });
    }
  } catch (error) {
    if (error.name !== "AbortError") throw error;
  } finally {
    streaming = null;
    byId("chat-send").disabled = false;
    byId("chat-stop").disabled = true;
    if (!finished) {
      // Stopped (the server stores what was generated and cancels the model) or cut off.
      turn.render(turn.text);
      turn.finish({ dbId: null, status: controller.signal.aborted ? "stopped" : "interrupted" });
      announce(controller.signal.aborted ? "Stopped." : "The stream ended early.");
    }
  }
}
