// The public API of PROTOCOL §3–§6, with the session token (multi-user mode) kept in sessionStorage.

const TOKEN_KEY = "agenthost.token";
const USER_KEY = "agenthost.user";

export class APIError extends Error {
  constructor(status, code, message) {
    super(message);
    this.status = status;
    this.code = code;
  }
}

export const session = {
  get token() { return sessionStorage.getItem(TOKEN_KEY); },
  get user() {
    try { return JSON.parse(sessionStorage.getItem(USER_KEY) ?? "null"); } catch { return null; }
  },
  save(token, user) {
    sessionStorage.setItem(TOKEN_KEY, token);
    sessionStorage.setItem(USER_KEY, JSON.stringify(user));
  },
  clear() {
    sessionStorage.removeItem(TOKEN_KEY);
    sessionStorage.removeItem(USER_KEY);
  },
};

/** Called when the server answers 401, so the page can show the sign-in form. */
let onUnauthorized = () => {};
export function setUnauthorizedHandler(handler) { onUnauthorized = handler; }

function headers(extra = {}) {
  const result = { ...extra };
  if (session.token) result.Authorization = `Bearer ${session.token}`;
  return result;
}

/** Sends a request; JSON in and out unless `raw` (then the Response). Throws APIError on failure. */
export async function request(path, { method = "GET", body, form, raw = false, signal } = {}) {
  const init = { method, headers: headers(), signal };
  if (form) {
    init.body = form;
  } else if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  const response = await fetch(path, init);
  if (!response.ok) {
    let code = "internal";
    let message = `${response.status} ${response.statusText}`;
    try {
      const payload = await response.json();
      code = payload?.error?.code ?? code;
      message = payload?.error?.message ?? message;
    } catch { /* not JSON */ }
    if (response.status === 401) onUnauthorized();
    throw new APIError(response.status, code, message);
  }
  if (raw) return response;
  if (response.status === 204) return null;
  return response.json();
}

/** `?a=1&b=2` from an object, leaving out empty values. */
export function query(parameters) {
  const search = new URLSearchParams();
  for (const [key, value] of Object.entries(parameters)) {
    if (value !== undefined && value !== null && value !== "") search.set(key, String(value));
  }
  const text = search.toString();
  return text ? `?${text}` : "";
}

/**
 * Reads a Server-Sent Events body (fetch + ReadableStream; EventSource cannot POST nor send a
 * bearer token) and yields `{event, id, data}` with `data` parsed as JSON.
 */
export async function* serverSentEvents(response) {
  const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  try {
    for (;;) {
      const { value, done } = await reader.read();
      if (done) break;
      buffer += value.replace(/\r\n/g, "\n");
      let end;
      while ((end = buffer.indexOf("\n\n")) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const event = { event: "message", id: null, data: "" };
        for (const line of block.split("\n")) {
          if (!line || line.startsWith(":")) continue;
          const colon = line.indexOf(":");
          const field = colon < 0 ? line : line.slice(0, colon);
          const text = colon < 0 ? "" : line.slice(colon + 1).replace(/^ /, "");
          if (field === "event") event.event = text;
          else if (field === "id") event.id = text;
          else if (field === "data") event.data += (event.data ? "\n" : "") + text;
        }
        if (!event.data) continue;
        try { event.data = JSON.parse(event.data); } catch { /* keep the text */ }
        yield event;
      }
    }
  } finally {
    reader.releaseLock();
  }
}

/** The WebSocket URL of a path on this origin, with `?token=` when signed in (PROTOCOL §2). */
export function socketURL(path) {
  const url = new URL(path, window.location.href);
  url.protocol = url.protocol === "https:" ? "wss:" : "ws:";
  if (session.token) url.searchParams.set("token", session.token);
  return url.toString();
}

/** The file name of a `Content-Disposition: attachment; filename="…"` header. */
export function attachmentName(response, fallback) {
  const header = response.headers.get("Content-Disposition") ?? "";
  const star = /filename\*=UTF-8''([^;]+)/i.exec(header);
  if (star) { try { return decodeURIComponent(star[1]); } catch { /* fall through */ } }
  const plain = /filename="?([^";]+)"?/i.exec(header);
  return plain ? plain[1] : fallback;
}
