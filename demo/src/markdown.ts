/**
 * A minimal markdown renderer for note cells: headings, paragraphs, lists, fenced code,
 * quotes, `code`, **bold**, *italic* and http(s) links. Everything is escaped first, so a
 * note can never inject markup.
 */

const escapeHtml = (text: string) =>
  text.replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]!);

function inline(text: string): string {
  return escapeHtml(text)
    .replace(/`([^`]+)`/g, "<code>$1</code>")
    .replace(/\*\*([^*]+)\*\*/g, "<strong>$1</strong>")
    .replace(/(^|[^*])\*([^*\s][^*]*)\*/g, "$1<em>$2</em>")
    .replace(/\[([^\]]+)\]\((https?:\/\/[^)\s]+)\)/g, '<a href="$2" target="_blank" rel="noopener noreferrer">$1</a>');
}

type Block = { kind: "p" | "ul" | "ol" | "quote"; lines: string[] };

export function renderMarkdown(source: string): string {
  const out: string[] = [];
  let block: Block | null = null;
  let code: string[] | null = null;
  const flush = () => {
    if (!block) return;
    const items = block.lines.map(inline);
    if (block.kind === "p") out.push(`<p>${items.join("<br>")}</p>`);
    else if (block.kind === "quote") out.push(`<blockquote>${items.join("<br>")}</blockquote>`);
    else out.push(`<${block.kind}>${items.map((i) => `<li>${i}</li>`).join("")}</${block.kind}>`);
    block = null;
  };
  const add = (kind: Block["kind"], line: string) => {
    if (block?.kind !== kind) {
      flush();
      block = { kind, lines: [] };
    }
    block!.lines.push(line);
  };
  for (const line of source.split("\n")) {
    if (code) {
      if (line.trim().startsWith("```")) {
        out.push(`<pre><code>${escapeHtml(code.join("\n"))}</code></pre>`);
        code = null;
      } else code.push(line);
      continue;
    }
    const heading = /^(#{1,3})\s+(.*)$/.exec(line);
    const bullet = /^\s*[-*]\s+(.*)$/.exec(line);
    const numbered = /^\s*\d+[.)]\s+(.*)$/.exec(line);
    if (line.trim().startsWith("```")) {
      flush();
      code = [];
    } else if (heading) {
      flush();
      const level = heading[1]!.length + 1; // h1 is the page's
      out.push(`<h${level}>${inline(heading[2]!)}</h${level}>`);
    } else if (bullet) add("ul", bullet[1]!);
    else if (numbered) add("ol", numbered[1]!);
    else if (line.startsWith(">")) add("quote", line.replace(/^>\s?/, ""));
    else if (line.trim() === "") flush();
    else add("p", line);
  }
  flush();
  if (code) out.push(`<pre><code>${escapeHtml((code as string[]).join("\n"))}</code></pre>`);
  return out.join("\n");
}
