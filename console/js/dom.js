// Small DOM helpers. Every piece of text from the server or the model goes in as a text node or
// textContent: nothing here parses HTML, so model output cannot inject markup.

/** Builds an element: `h("button", {type: "button", onclick}, "Send")`. Strings become text nodes. */
export function h(tag, attributes = {}, ...children) {
  const element = document.createElement(tag);
  for (const [key, value] of Object.entries(attributes ?? {})) {
    if (value === undefined || value === null || value === false) continue;
    if (key.startsWith("on") && typeof value === "function") {
      element.addEventListener(key.slice(2), value);
    } else if (key === "class") {
      element.className = value;
    } else if (key === "dataset") {
      Object.assign(element.dataset, value);
    } else if (value === true) {
      element.setAttribute(key, "");
    } else {
      element.setAttribute(key, String(value));
    }
  }
  append(element, children);
  return element;
}

function append(element, children) {
  for (const child of children.flat(Infinity)) {
    if (child === undefined || child === null || child === false) continue;
    element.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
}

/** Replaces the children of `element`. */
export function replace(element, ...children) {
  element.replaceChildren();
  append(element, children);
}

export const byId = (id) => document.getElementById(id);

/** A short local date-time for lists. */
export function formatTime(iso) {
  if (!iso) return "";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleString();
}

/** Pretty JSON for tool arguments and results. */
export function json(value) {
  try {
    return typeof value === "string" ? value : JSON.stringify(value, null, 2);
  } catch {
    return String(value);
  }
}

/** Announces a message in the page's live status line. */
export function announce(message, kind = "info") {
  const status = byId("status");
  status.dataset.kind = kind;
  status.textContent = message;
}

/** Shows a failed request in the status line. */
export function report(error) {
  announce(error?.message ?? String(error), "error");
}

/**
 * Renders a search snippet. The API HTML-escapes the chat's text and wraps matches in <mark>…</mark>;
 * the marks are split out and become <mark> elements, the rest is unescaped into text nodes.
 */
export function snippet(text) {
  const container = h("span", { class: "snippet" });
  const parts = String(text ?? "").split(/(<mark>|<\/mark>)/);
  let marked = false;
  for (const part of parts) {
    if (part === "<mark>") { marked = true; continue; }
    if (part === "</mark>") { marked = false; continue; }
    if (!part) continue;
    const plain = unescapeEntities(part);
    container.append(marked ? h("mark", {}, plain) : document.createTextNode(plain));
  }
  return container;
}

function unescapeEntities(text) {
  return text.replace(/&(amp|lt|gt|quot|#39);/g, (_, name) =>
    ({ amp: "&", lt: "<", gt: ">", quot: "\"", "#39": "'" })[name]);
}
