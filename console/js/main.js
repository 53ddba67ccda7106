// Boots the console: sign-in when the server has users, the workspace and thread pickers, and the
// views behind the navigation (hash routes, so the browser's back button and bookmarks work).
import { request, session, setUnauthorizedHandler, APIError } from "./api.js";
import { byId, h, replace, announce, report } from "./dom.js";
import { selection, select, onSelectionChange, rememberedWorkspace } from "./state.js";
import * as chat from "./chat.js";
import * as agent from "./agent.js";
import * as runs from "./runs.js";
import * as search from "./search.js";
import * as documents from "./documents.js";

const views = { chat, agent, runs, search, documents };
let signedIn = false;

function show(name) {
  const target = views[name] ? name : "chat";
  for (const section of document.querySelectorAll(".view")) section.hidden = section.id !== `view-${target}`;
  for (const link of document.querySelectorAll("#nav a")) {
    if (link.dataset.view === target) link.setAttribute("aria-current", "page");
    else link.removeAttribute("aria-current");
  }
  views[target].shown?.();
}

function showSignIn(message = "") {
  signedIn = false;
  for (const id of ["nav", "session", "context-bar"]) byId(id).hidden = true;
  for (const section of document.querySelectorAll(".view")) section.hidden = section.id !== "view-signin";
  byId("signin-error").textContent = message;
  byId("signin-username").focus();
}

async function loadWorkspaces(preferred) {
  const { workspaces } = await request("/api/workspaces/");
  selection.workspaces = workspaces;
  const picker = byId("workspace-select");
  replace(picker, workspaces.length ? workspaces.map((w) => h("option", { value: w.slug }, w.name)) : h("option", { value: "" }, "(no workspace yet)"));
  const slug = [preferred, selection.workspace, rememberedWorkspace()].find((s) => workspaces.some((w) => w.slug === s))
    ?? workspaces[0]?.slug ?? null;
  picker.value = slug ?? "";
  await loadThreads(slug, null);
}

async function loadThreads(workspace, preferred) {
  const picker = byId("thread-select");
  if (!workspace) {
    replace(picker, h("option", { value: "" }, "default"));
    select(null, null);
    return;
  }
  const { threads } = await request(`/api/workspaces/${encodeURIComponent(workspace)}/threads/`);
  replace(picker, h("option", { value: "" }, "default"), threads.map((t) => h("option", { value: t.slug }, t.name)));
  picker.value = threads.some((t) => t.slug === preferred) ? preferred : "";
  select(workspace, picker.value || null);
}

async function enter() {
  try {
    await loadWorkspaces();
  } catch (error) {
    if (error instanceof APIError && error.status === 401) return; // the handler showed the sign-in form
    announce(`Could not load workspaces: ${error.message}`, "error");
    return;
  }
  signedIn = true;
  byId("nav").hidden = false;
  byId("context-bar").hidden = false;
  const user = session.user;
  byId("session").hidden = !user;
  byId("whoami").textContent = user ? `Signed in as ${user.username}` : "";
  show(location.hash.slice(1));
  for (const view of Object.values(views)) view.ready?.();
}

function wire() {
  setUnauthorizedHandler(() => {
    session.clear();
    showSignIn(signedIn ? "Your session ended; sign in again." : "");
  });
  window.addEventListener("hashchange", () => { if (signedIn) show(location.hash.slice(1)); });

  byId("signin-form").addEventListener("submit", async (event) => {
    event.preventDefault();
    byId("signin-error").textContent = "";
    try {
      const result = await request("/api/auth/login", {
        method: "POST", body: { username: byId("signin-username").value, password: byId("signin-password").value },
      });
      session.save(result.token, result.user);
      byId("signin-password").value = "";
      await enter();
    } catch (error) {
      byId("signin-error").textContent = error.message;
    }
  });
  byId("sign-out").addEventListener("click", () => {
    session.clear();
    showSignIn("Signed out.");
  });

  byId("workspace-select").addEventListener("change", (event) => loadThreads(event.target.value, null).catch(report));
  byId("thread-select").addEventListener("change", (event) => select(selection.workspace, event.target.value || null));
  byId("workspace-create").addEventListener("submit", async (event) => {
    event.preventDefault();
    const input = byId("workspace-name");
    try {
      const workspace = await request("/api/workspaces/", { method: "POST", body: { name: input.value.trim() } });
      input.value = "";
      await loadWorkspaces(workspace.slug);
      announce(`Workspace “${workspace.name}” created.`);
    } catch (error) { report(error); }
  });
  byId("thread-create").addEventListener("submit", async (event) => {
    event.preventDefault();
    if (!selection.workspace) return announce("Create a workspace first.", "error");
    const input = byId("thread-name");
    try {
      const name = input.value.trim();
      const thread = await request(`/api/workspaces/${encodeURIComponent(selection.workspace)}/threads/`, {
        method: "POST", body: name ? { name } : {},
      });
      input.value = "";
      await loadThreads(selection.workspace, thread.slug);
      announce(`Thread “${thread.name}” created.`);
    } catch (error) { report(error); }
  });
  for (const view of Object.values(views)) view.init?.();
  onSelectionChange(() => {
    for (const view of Object.values(views)) view.selectionChanged?.();
  });
}

wire();
enter();
