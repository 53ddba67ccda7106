// The tools this page implements for the agent (`executor: "client"`, PROTOCOL §5/§6). Prompts are
// shown inside the tool call's card (focus moves to them), so several calls can wait at once and
// the keyboard reaches every button.
import { h, replace, json } from "./dom.js";

export const clientTools = [
  {
    name: "browser_time_zone",
    description: "The time zone, UTC offset and local time of the person's browser.",
    parameters: { type: "object", properties: {}, additionalProperties: false },
  },
  {
    name: "confirm_with_user",
    description: "Asks the person a yes/no question in the page and returns whether they confirmed.",
    parameters: {
      type: "object", properties: { question: { type: "string", description: "The question to ask." } },
      required: ["question"], additionalProperties: false,
    },
    timeout_ms: 300000,
  },
  {
    name: "read_pasted_text",
    description: "Asks the person to paste a text (an email, a log, notes) and returns it.",
    parameters: {
      type: "object", properties: { prompt: { type: "string", description: "What to paste, in a sentence." } },
      required: ["prompt"], additionalProperties: false,
    },
    requires_approval: true,
    timeout_ms: 300000,
  },
];

/** Runs a client tool call; resolves to `{output, is_error}`. */
export async function runClientTool(call, container) {
  const args = call.arguments ?? {};
  switch (call.name) {
    case "browser_time_zone": {
      const now = new Date();
      return {
        output: {
          time_zone: Intl.DateTimeFormat().resolvedOptions().timeZone,
          utc_offset_minutes: -now.getTimezoneOffset(),
          local_time: now.toString(),
        },
        is_error: false,
      };
    }
    case "confirm_with_user": {
      const answer = await choose(container, `The agent asks: ${args.question ?? "Confirm?"}`, [
        { label: "Yes", value: true, primary: true }, { label: "No", value: false },
      ]);
      return { output: { confirmed: answer }, is_error: false };
    }
    case "read_pasted_text": {
      const text = await paste(container, args.prompt ?? "Paste a text for the agent.");
      return text === null
        ? { output: { error: "The person declined to paste a text." }, is_error: true }
        : { output: { text }, is_error: false };
    }
    default:
      return { output: { error: `This page has no tool named '${call.name}'.` }, is_error: true };
  }
}

/** Shows an approval prompt for a call; resolves to `{approved, reason?}`. */
export async function askApproval(call, container) {
  const approved = await choose(container,
    `Allow the agent to run ${call.name} with these arguments?`, [
      { label: "Approve", value: true, primary: true }, { label: "Deny", value: false },
    ], json(call.arguments));
  return approved ? { approved } : { approved, reason: "Denied in the console." };
}

/** Removes a prompt that is no longer needed (answered elsewhere, or the run ended). */
export function closeDialogFor(_callId, container) {
  if (container?.querySelector(".ask")) container.replaceChildren();
}

let promptCount = 0;

function choose(container, question, options, detail) {
  return new Promise((resolve) => {
    const id = `ask-${++promptCount}`;
    const buttons = options.map((option) => h("button", {
      type: "button", class: option.primary ? "" : "secondary",
      onclick: () => { replace(container); resolve(option.value); },
    }, option.label));
    replace(container, h("div", { class: "ask", role: "group", "aria-labelledby": id },
      h("p", { id }, question), detail ? h("pre", {}, detail) : null, h("div", { class: "button-row" }, buttons)));
    buttons[0].focus();
    container.scrollIntoView({ block: "center" });
  });
}

function paste(container, prompt) {
  return new Promise((resolve) => {
    const id = `ask-${++promptCount}`;
    const area = h("textarea", { id, rows: 5 });
    const form = h("form", { class: "ask" },
      h("label", { for: id }, prompt), area,
      h("div", { class: "button-row" },
        h("button", { type: "submit" }, "Send text"),
        h("button", { type: "button", class: "secondary", onclick: () => { replace(container); resolve(null); } }, "Decline")));
    form.addEventListener("submit", (event) => {
      event.preventDefault();
      const text = area.value;
      replace(container);
      resolve(text);
    });
    replace(container, form);
    area.focus();
    container.scrollIntoView({ block: "center" });
  });
}
