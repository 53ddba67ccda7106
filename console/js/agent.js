// Agent view over `ws/agent/{workspace}/` (PROTOCOL §6): tools implemented in this page, approval
// prompts, every step and tool call live, cancel, and pick-up after a reload: the running
// invocation's id and last seq are kept in sessionStorage, and a reloaded page resumes it from the
// start (after_seq -1) to rebuild the transcript it lost, while a dropped socket on a live page
// resumes after the last seq it saw. Frames at or below the last seq are ignored, so no text repeats.
import { socketURL } from "./api.js";
import { byId, h, replace, announce, report, json } from "./dom.js";
import { renderMarkdown } from "./markdown.js";
import { renderSources } from "./chat.js";
import { selection } from "./state.js";
import { clientTools, runClientTool, askApproval, closeDialogFor } from "./browser-tools.js";

const RUN_KEY = "agenthost.agent.run";

let socket = null;          // { workspace, ws, ready: Promise }
let run = null;             // the invocation on screen
let resumedOnce = false;

export function init() {
  const form = byId("agent-form");
  const input = byId("agent-input");
  replace(byId("agent-tool-list"), clientTools.map((tool) =>
    h("li", {}, h("code", {}, tool.name), ` — ${tool.description}`, tool.requires_approval ? " (asks for your approval first)" : "")));
  form.addEventListener("submit", (event) => {
    event.preventDefault();
    const message = input.value.trim();
    if (!message || (run && !run.done)) return;
    input.value = "";
    invoke(message).catch(report);
  });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      form.requestSubmit();
    }
  });
  byId("agent-cancel").addEventListener("click", () => {
    if (run && !run.done && run.id) send({ type: "cancel", invocation_id: run.id });
  });
}

/** After sign-in: a run this tab started before a reload is picked up again. */
export function ready() {
  if (resumedOnce) return;
  resumedOnce = true;
  const saved = readSaved();
  if (saved) resume(saved).catch(report);
}

export function shown() {
  byId("agent-input").focus();
}

function readSaved() {
  try { return JSON.parse(sessionStorage.getItem(RUN_KEY) ?? "null"); } catch { return null; }
}

function save() {
  if (run?.id && !run.done) {
    sessionStorage.setItem(RUN_KEY, JSON.stringify({ invocation_id: run.id, workspace: run.workspace, last_seq: run.lastSeq, message: run.message }));
  } else {
    sessionStorage.removeItem(RUN_KEY);
  }
}

function connect(workspace) {
  if (socket && socket.workspace === workspace && socket.ws.readyState <= WebSocket.OPEN) return socket.ready;
  socket?.ws.close();
  const ws = new WebSocket(socketURL(`/ws/agent/${encodeURIComponent(workspace)}/`));
  const current = { workspace, ws };
  current.ready = new Promise((resolve, reject) => {
    ws.addEventListener("open", () => resolve(ws), { once: true });
    ws.addEventListener("error", () => reject(new Error("Could not connect to the agent socket.")), { once: true });
  });
  ws.addEventListener("message", (event) => {
    let frame;
    try { frame = JSON.parse(event.data); } catch { return; }
    handle(frame);
  });
  ws.addEventListener("close", () => {
    if (socket !== current) return;
    socket = null;
    // The run goes on without us (PROTOCOL §6); reconnect and resume after the last seq we saw.
    if (run && !run.done && run.workspace === workspace) {
      setState("reconnecting");
      setTimeout(() => reconnect(), 1000);
    }
  });
  socket = current;
  return current.ready;
}

async function reconnect() {
  if (!run || run.done) return;
  try {
    await connect(run.workspace);
    send({ type: "resume", invocation_id: run.id, after_seq: run.lastSeq });
    setState("running");
  } catch {
    setTimeout(() => reconnect(), 2000);
  }
}

function send(frame) {
  if (socket?.ws.readyState === WebSocket.OPEN) socket.ws.send(JSON.stringify(frame));
}

function setState(label) {
  byId("agent-state").textContent = label;
  const active = run && !run.done;
  byId("agent-run").disabled = Boolean(active);
  byId("agent-cancel").disabled = !active;
}

async function invoke(message) {
  if (!selection.workspace) return announce("Create or pick a workspace first.", "error");
  await connect(selection.workspace);
  const requestId = crypto.randomUUID();
  run = makeRun({ workspace: selection.workspace, message, requestId });
  setState("starting");
  send({
    type: "agent_invoke", message, thread: selection.thread ?? undefined, request_id: requestId,
    client_tools: clientTools.map(({ name, description, parameters, requires_approval, timeout_ms }) =>
      ({ name, description, parameters, executor: "client", requires_approval, timeout_ms })),
  });
}

async function resume(saved) {
  await connect(saved.workspace);
  run = makeRun({ workspace: saved.workspace, message: saved.message, id: saved.invocation_id });
  run.note("Picked up again after a reload.");
  setState("resuming");
  send({ type: "resume", invocation_id: saved.invocation_id, after_seq: -1 });
}

/** The transcript of one invocation: the task, then each step's text and tool calls. */
function makeRun({ workspace, message, requestId = null, id = null }) {
  const log = byId("agent-log");
  const steps = h("ol", { class: "steps" });
  const result = h("div", { class: "run-result" });
  const element = h("li", { class: "run", dataset: { invocationId: id ?? "" } },
    h("div", { class: "msg user" }, h("span", { class: "who" }, "Task"), h("p", {}, message ?? "")),
    steps, result);
  log.replaceChildren(element);
  const stepViews = new Map();
  const calls = new Map();
  return {
    workspace, message, requestId, id, lastSeq: -1, done: false, element, calls,
    note(text) { result.append(h("p", { class: "muted" }, text)); },
    step(number) {
      if (!stepViews.has(number)) {
        const text = h("div", { class: "content" });
        const tools = h("ol", { class: "tool-calls" });
        const sources = h("div", { class: "sources" });
        const view = { text, tools, sources, raw: "", frame: 0 };
        steps.append(h("li", { class: "step", dataset: { step: number } }, h("h3", {}, `Step ${number}`), sources, text, tools));
        stepViews.set(number, view);
      }
      return stepViews.get(number);
    },
    finish(frame) {
      this.done = true;
      element.dataset.status = frame.status;
      replace(result,
        h("p", { class: `badge ${frame.status === "completed" ? "ok" : "warn"}` }, frame.status),
        frame.usage ? h("span", { class: "muted" }, ` ${frame.steps} steps · ${frame.usage.prompt_tokens ?? 0}+${frame.usage.completion_tokens ?? 0} tokens · ${Math.round(frame.duration_ms ?? 0)} ms`) : null);
    },
  };
}

function toolCard(call) {
  const argumentsView = h("pre", { class: "arguments" }, json(call.arguments));
  const output = h("div", { class: "output" }, h("span", { class: "muted" }, "waiting…"));
  const prompt = h("div", { class: "prompt" });
  const approval = h("span", { class: "approval" });
  const card = h("li", { class: "tool-call", dataset: { callId: call.call_id, name: call.name } },
    h("div", { class: "tool-head" }, h("code", {}, call.name), h("span", { class: "badge" }, call.executor ?? "tool"), approval),
    h("details", { open: true }, h("summary", {}, "Arguments"), argumentsView), prompt, output);
  return { card, output, prompt, approval, settled: false, approved: false, executed: false };
}

function handle(frame) {
  if (!run) return;
  if (frame.type === "error" && !frame.invocation_id) {
    announce(frame.message, "error");
    if (!run.id && !run.done) { run.done = true; setState("failed"); }
    return;
  }
  if (frame.type === "pong") return;
  settleLater();
  if (frame.invocation_id && run.id && frame.invocation_id !== run.id) return;
  if (!run.id && frame.type === "agent_start" && frame.request_id && frame.request_id !== run.requestId) return;
  if (typeof frame.seq === "number") {
    if (frame.seq <= run.lastSeq) return;
    run.lastSeq = frame.seq;
  }
  const current = run; // the actions deferred below answer this run, whatever is on screen by then
  switch (frame.type) {
    case "agent_start":
      run.id = frame.invocation_id;
      run.element.dataset.invocationId = run.id;
      setState("running");
      break;
    case "agent_queued":
      setState(`queued (position ${frame.position})`);
      break;
    case "agent_token": {
      const view = run.step(frame.step ?? 0);
      view.raw += frame.token;
      if (!view.frame) view.frame = requestAnimationFrame(() => { view.frame = 0; replace(view.text, renderMarkdown(view.raw)); });
      setState("running");
      break;
    }
    case "sources":
      renderSources(run.step(frame.step ?? 0).sources, frame.sources);
      break;
    case "approval_required": {
      const call = ensureCall(frame);
      call.needsApproval = true;
      setState("waiting for your approval");
      later(() => {
        if (call.settled || call.approved || current.done) return;
        askApproval(frame, call.prompt).then(({ approved, reason }) => {
          if (call.approved || call.settled) return;
          call.approved = true;
          replace(call.approval, h("span", { class: `badge ${approved ? "ok" : "warn"}` }, approved ? "approved" : "denied"));
          send({ type: "approval", invocation_id: current.id, call_id: frame.call_id, approved, reason });
        });
      });
      break;
    }
    case "tool_call": {
      const call = ensureCall(frame);
      // A call that needed approval is only sent to run once it was approved (here or elsewhere).
      if (call.needsApproval && !call.approval.hasChildNodes()) replace(call.approval, h("span", { class: "badge ok" }, "approved"));
      call.approved = true;
      closeDialogFor(frame.call_id, call.prompt);
      if (frame.executor === "client") {
        setState("running a browser tool");
        later(() => {
          if (call.settled || call.executed || current.done) return;
          call.executed = true;
          runClientTool(frame, call.prompt).then(({ output, is_error }) => {
            if (call.settled) return;
            send({ type: "tool_result", invocation_id: current.id, call_id: frame.call_id, output, is_error });
          });
        });
      }
      break;
    }
    case "tool_result": {
      const call = ensureCall(frame);
      call.settled = true;
      closeDialogFor(frame.call_id, call.prompt);
      replace(call.output,
        h("span", { class: `badge ${frame.is_error ? "warn" : "ok"}` }, frame.is_error ? "error" : "result"),
        typeof frame.duration_ms === "number" ? h("span", { class: "muted" }, ` ${Math.round(frame.duration_ms)} ms`) : null,
        h("pre", { class: "result" }, json(frame.output)));
      setState("running");
      break;
    }
    case "agent_complete":
      for (const call of run.calls.values()) closeDialogFor(call.card.dataset.callId, call.prompt);
      run.finish(frame);
      if (frame.response && !run.element.querySelector(".step .content:not(:empty)")) {
        run.step(frame.steps ?? 1).text.append(renderMarkdown(frame.response));
      }
      setState(frame.status);
      break;
    case "error":
      run.note(`${frame.code}: ${frame.message}`);
      if (frame.code === "not_found" && !run.id) run.done = true;
      if (frame.code === "not_found" && run.id) { run.done = true; setState("gone"); }
      break;
    default:
      break;
  }
  save();
}

/** The card of a tool call, made on its first frame (approval_required, tool_call or tool_result). */
function ensureCall(frame) {
  let call = run.calls.get(frame.call_id);
  if (!call) {
    call = toolCard(frame);
    run.calls.set(frame.call_id, call);
    const number = frame.step ?? Math.max(0, ...[...run.element.querySelectorAll(".step")].map((s) => Number(s.dataset.step)));
    run.step(number).tools.append(call.card);
  }
  return call;
}

/**
 * Acts on a request once the frames arriving with it have been handled: a resumed run replays its
 * whole log in a burst, and a call answered later in that log must not prompt the person again.
 * Every frame pushes the deadline back, so queued actions run 80 ms after the burst ends.
 */
const pending = [];
let flushTimer = 0;

function later(action) {
  pending.push(action);
  settleLater();
}

function settleLater() {
  clearTimeout(flushTimer);
  if (!pending.length) return;
  flushTimer = setTimeout(() => {
    for (const action of pending.splice(0)) action();
  }, 80);
}
