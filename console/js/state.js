// The page's shared selection: the workspace and thread every view works in.

const listeners = new Set();

export const selection = {
  workspace: null, // slug
  thread: null,    // slug, or null for the user's default thread
  workspaces: [],
};

/** Calls `listener(selection)` whenever the workspace or thread changes. */
export function onSelectionChange(listener) {
  listeners.add(listener);
}

export function select(workspace, thread) {
  const changed = workspace !== selection.workspace || thread !== selection.thread;
  selection.workspace = workspace;
  selection.thread = thread;
  if (workspace) localStorage.setItem("agenthost.workspace", workspace);
  if (changed) for (const listener of listeners) listener(selection);
}

export function rememberedWorkspace() {
  return localStorage.getItem("agenthost.workspace");
}
