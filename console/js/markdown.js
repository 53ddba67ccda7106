// A small Markdown renderer that builds DOM nodes. Model text only ever reaches the page as text
// nodes (never innerHTML), so `<img src=x onerror=…>` in an answer is shown, not run. Links are
// kept only for http(s) and mailto URLs.
import { h } from "./dom.js";

/** Renders `text` as block elements into a fragment. */
export function renderMarkdown(text) {
  const fragment = document.createDocumentFragment();
  const lines = String(text ?? "").replace(/\r\n/g, "\n").split("\n");
  let index = 0;
  while (index < lines.length) {
    const line = lines[index];
    const fence = /^\s*(```|~~~)\s*([\w+-]*)\s*$/.exec(line);
    if (fence) {
      const body = [];
      index += 1;
      while (index < lines.length && !lines[index].trim().startsWith(fence[1])) body.push(lines[index++]);
      index += 1; // the closing fence (or the end of a still-streaming block)
      const code = h("code", fence[2] ? { class: `language-${fence[2]}` } : {}, body.join("\n"));
      fragment.append(h("pre", {}, code));
      continue;
    }
    if (!line.trim()) { index += 1; continue; }
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (heading) {
      // Headings inside an answer sit below the page's own h2s.
      const level = Math.min(6, heading[1].length + 2);
      fragment.append(h(`h${level}`, {}, inline(heading[2])));
      index += 1;
      continue;
    }
    if (/^\s*([-*_])(\s*\1){2,}\s*$/.test(line)) { fragment.append(h("hr")); index += 1; continue; }
    if (/^\s*>/.test(line)) {
      const quoted = [];
      while (index < lines.length && /^\s*>/.test(lines[index])) quoted.push(lines[index++].replace(/^\s*>\s?/, ""));
      fragment.append(h("blockquote", {}, renderMarkdown(quoted.join("\n"))));
      continue;
    }
    const bullet = /^\s*[-*+]\s+/;
    const numbered = /^\s*\d+[.)]\s+/;
    if (bullet.test(line) || numbered.test(line)) {
      const ordered = numbered.test(line);
      const pattern = ordered ? numbered : bullet;
      const list = h(ordered ? "ol" : "ul");
      while (index < lines.length && pattern.test(lines[index])) {
        list.append(h("li", {}, inline(lines[index].replace(pattern, ""))));
        index += 1;
      }
      fragment.append(list);
      continue;
    }
    const paragraph = [];
    while (index < lines.length && lines[index].trim() && !/^(#{1,6}\s|\s*```|\s*~~~|\s*>|\s*[-*+]\s+|\s*\d+[.)]\s+)/.test(lines[index])) {
      paragraph.push(lines[index++]);
    }
    if (paragraph.length === 0) { paragraph.push(lines[index++]); }
    const p = h("p");
    paragraph.forEach((text, position) => {
      if (position > 0) p.append(h("br"));
      p.append(inline(text));
    });
    fragment.append(p);
  }
  return fragment;
}

const INLINE = /(`[^`]+`)|(\*\*[^*]+\*\*|__[^_]+__)|(\*[^*\s][^*]*\*|_[^_\s][^_]*_)|(\[[^\]]+\]\([^)\s]+\))/;

/** Inline code, bold, italics and links; everything else is text. */
function inline(text) {
  const fragment = document.createDocumentFragment();
  let rest = text;
  while (rest) {
    const match = INLINE.exec(rest);
    if (!match) { fragment.append(document.createTextNode(rest)); break; }
    if (match.index > 0) fragment.append(document.createTextNode(rest.slice(0, match.index)));
    const token = match[0];
    if (match[1]) {
      fragment.append(h("code", {}, token.slice(1, -1)));
    } else if (match[2]) {
      fragment.append(h("strong", {}, inline(token.slice(2, -2))));
    } else if (match[3]) {
      fragment.append(h("em", {}, inline(token.slice(1, -1))));
    } else {
      const [, label, href] = /^\[([^\]]+)\]\(([^)\s]+)\)$/.exec(token);
      fragment.append(safeURL(href)
        ? h("a", { href, rel: "noopener noreferrer nofollow", target: "_blank" }, label)
        : document.createTextNode(token));
    }
    rest = rest.slice(match.index + token.length);
  }
  return fragment;
}

function safeURL(href) {
  try {
    const url = new URL(href, window.location.href);
    return ["http:", "https:", "mailto:"].includes(url.protocol);
  } catch {
    return false;
  }
}
