// Runs view: past agent invocations (GET /api/agent/invocations/) and an inspector of one run
// (GET /api/agent/invocations/{id}): its step timeline with durations, tokens and tool calls.
import { request, query } from "./api.js";
import { byId, h, replace, report, formatTime, json } from "./dom.js";
import { renderMarkdown } from "./markdown.js";
import { selection } from "./state.js";

let nextCursor = null;

export function init() {
  byId("runs-filter").addEventListener("submit", (event) => {
    event.preventDefault();
    load(false).catch(report);
  });
  byId("runs-more").addEventListener("click", () => load(true).catch(report));
}

export function shown() {
  load(false).catch(report);
}

export function selectionChanged() {
  if (!byId("view-runs").hidden) load(false).catch(report);
}

async function load(more) {
  const thisWorkspace = byId("runs-this-workspace").checked;
  const page = await request(`/api/agent/invocations/${query({
    workspace: thisWorkspace ? selection.workspace : null, status: byId("runs-status").value, limit: 25,
    cursor: more ? nextCursor : null,
  })}`);
  nextCursor = page.next_cursor;
  const rows = page.invocations.map((run) => h("tr", { dataset: { invocationId: run.invocation_id } },
    h("td", {}, h("time", { datetime: run.created_at }, formatTime(run.created_at))),
    h("td", {}, h("button", { type: "button", class: "link", onclick: () => inspect(run.invocation_id).catch(report) },
      run.message.length > 80 ? `${run.message.slice(0, 80)}…` : run.message)),
    h("td", {}, h("span", { class: `badge ${run.status === "completed" ? "ok" : ["running", "waiting"].includes(run.status) ? "" : "warn"}` }, run.status)),
    h("td", {}, String(run.steps)),
    h("td", {}, `${run.usage.prompt_tokens}+${run.usage.completion_tokens}`)));
  const body = byId("runs-body");
  if (more) body.append(...rows);
  else replace(body, rows.length ? rows : h("tr", {}, h("td", { colspan: 5, class: "muted" }, "No runs yet.")));
  byId("runs-more").hidden = !nextCursor;
}

async function inspect(id) {
  const run = await request(`/api/agent/invocations/${encodeURIComponent(id)}`);
  const inspector = byId("run-inspector");
  const longest = Math.max(1, ...run.step_log.flatMap((step) => [step.duration_ms ?? 0, ...step.tool_calls.map((c) => c.duration_ms ?? 0)]));
  const bar = (ms) => {
    const fill = h("span", { class: "fill" });
    // Through the CSSOM: the CSP forbids style attributes, not styles set from a same-origin script.
    fill.style.width = `${Math.max(2, Math.round(((ms ?? 0) / longest) * 100))}%`;
    return h("span", { class: "bar", "aria-hidden": "true" }, fill);
  };
  replace(inspector,
    h("h3", {}, "Run ", h("code", {}, run.invocation_id)),
    h("dl", { class: "facts" },
      h("dt", {}, "Status"), h("dd", {}, run.status),
      h("dt", {}, "Started"), h("dd", {}, formatTime(run.created_at)),
      h("dt", {}, "Duration"), h("dd", {}, run.duration_ms !== undefined ? `${Math.round(run.duration_ms)} ms` : "still running"),
      h("dt", {}, "Steps"), h("dd", {}, `${run.steps} of at most ${run.max_steps}`),
      h("dt", {}, "Tokens"), h("dd", {}, `${run.usage.prompt_tokens} prompt + ${run.usage.completion_tokens} completion`),
      run.error ? [h("dt", {}, "Error"), h("dd", {}, run.error)] : null),
    h("h4", {}, "Task"), h("p", {}, run.message),
    h("h4", {}, "Timeline"),
    h("ol", { class: "timeline" }, run.step_log.map((step) => h("li", { class: "timeline-step" },
      h("div", { class: "timeline-head" },
        h("strong", {}, `Step ${step.step}`),
        step.duration_ms !== undefined ? [bar(step.duration_ms), ` model ${Math.round(step.duration_ms)} ms`] : null,
        step.usage ? h("span", { class: "muted" }, ` · ${step.usage.prompt_tokens}+${step.usage.completion_tokens} tokens`) : null),
      step.text ? h("div", { class: "content" }, renderMarkdown(step.text)) : null,
      step.tool_calls.length ? h("ul", { class: "tool-calls" }, step.tool_calls.map((call) => h("li", { class: "tool-call" },
        h("div", { class: "tool-head" }, h("code", {}, call.name ?? "?"), h("span", { class: "badge" }, call.executor ?? ""),
          call.is_error ? h("span", { class: "badge warn" }, "error") : null, bar(call.duration_ms), ` ${Math.round(call.duration_ms ?? 0)} ms`),
        h("details", {}, h("summary", {}, "Arguments"), h("pre", {}, json(call.arguments))),
        h("details", {}, h("summary", {}, "Result"), h("pre", {}, json(call.output)))))) : null))),
    run.response ? [h("h4", {}, "Answer"), h("div", { class: "content" }, renderMarkdown(run.response))] : null);
  inspector.focus();
}
