/**
 * The links of an HTML index page: the `href` of every `<a>` tag, found by a small tolerant
 * tokenizer (no DOM: there is no DOMParser in Node, and listings are often sloppy HTML).
 * It follows the HTML tokenizer where it matters for finding links: comments, doctypes and
 * processing instructions are skipped, so is the text of `script`, `style`, `textarea` and
 * friends; attribute values may be double-quoted, single-quoted or bare; an unclosed construct
 * runs to the end of the page. One linear pass; web APIs only.
 */

/** Elements whose content is text, never markup: an `<a href>` inside them is no link. */
const RAW_TEXT = new Set(["script", "style", "textarea", "title", "xmp", "iframe", "noembed", "noframes", "noscript"]);

const isSpace = (c: string) => c === " " || c === "\n" || c === "\t" || c === "\r" || c === "\f";
const isLetter = (c: string | undefined) => c !== undefined && ((c >= "a" && c <= "z") || (c >= "A" && c <= "Z"));

/** Where the first `needle` (ASCII, lowercase) at or after `from` starts, ignoring case; -1 when absent. */
function indexOfIgnoringCase(text: string, needle: string, from: number): number {
  const upper = needle.toUpperCase();
  for (let at = from; at <= text.length - needle.length; at++) {
    let i = 0;
    while (i < needle.length && (text[at + i] === needle[i] || text[at + i] === upper[i])) i++;
    if (i === needle.length) return at;
  }
  return -1;
}

/** One start tag: its lowercase name, its attributes (first of each name wins) and where it ends. */
interface Tag {
  name: string;
  attributes: Map<string, string>;
  end: number;
}

/** Reads the start tag whose name begins at `at` (just after `<`). */
function readTag(html: string, at: number): Tag {
  let i = at;
  while (i < html.length && !isSpace(html[i]!) && html[i] !== "/" && html[i] !== ">") i++;
  const name = html.slice(at, i).toLowerCase();
  const attributes = new Map<string, string>();
  while (i < html.length && html[i] !== ">") {
    if (isSpace(html[i]!) || html[i] === "/") {
      i++;
      continue;
    }
    const nameStart = i;
    i++; // a name may start with "=" (the tokenizer keeps it), never with space, "/" or ">"
    while (i < html.length && !isSpace(html[i]!) && html[i] !== "/" && html[i] !== ">" && html[i] !== "=") i++;
    const attribute = html.slice(nameStart, i).toLowerCase();
    while (i < html.length && isSpace(html[i]!)) i++;
    let value = "";
    if (html[i] === "=") {
      i++;
      while (i < html.length && isSpace(html[i]!)) i++;
      const quote = html[i];
      if (quote === '"' || quote === "'") {
        const close = html.indexOf(quote, i + 1);
        const stop = close === -1 ? html.length : close;
        value = html.slice(i + 1, stop);
        i = stop + 1;
      } else {
        const valueStart = i;
        while (i < html.length && !isSpace(html[i]!) && html[i] !== ">") i++;
        value = html.slice(valueStart, i);
      }
    }
    if (!attributes.has(attribute)) attributes.set(attribute, value);
  }
  return { name, attributes, end: i + 1 };
}

/** Skips past the end of a raw-text element's content (its closing tag), or to the end of the page. */
function skipRawText(html: string, name: string, from: number): number {
  for (let at = from; ; ) {
    const close = indexOfIgnoringCase(html, `</${name}`, at);
    if (close === -1) return html.length;
    const after = html[close + name.length + 2];
    // `</scriptx` does not close a script; `</script>`, `</script ` and `</script/` do.
    if (after === undefined || after === ">" || after === "/" || isSpace(after)) {
      const end = html.indexOf(">", close);
      return end === -1 ? html.length : end + 1;
    }
    at = close + 1;
  }
}

/**
 * The decoded `href` of each `<a>` tag in page order, at most `limit` of them (then `truncated`).
 * Tags in comments, scripts and other raw text are not links.
 */
export function extractLinks(html: string, limit = Infinity): { links: string[]; truncated: boolean } {
  const links: string[] = [];
  let i = 0;
  while (i < html.length) {
    const lt = html.indexOf("<", i);
    if (lt === -1) break;
    const next = html[lt + 1];
    if (html.startsWith("<!--", lt)) {
      const close = html.indexOf("-->", lt + 4);
      i = close === -1 ? html.length : close + 3;
    } else if (next === "!" || next === "?" || (next === "/" && isLetter(html[lt + 2]))) {
      // A doctype, a processing instruction or bogus comment, an end tag: nothing to read in them.
      const close = html.indexOf(">", lt + 2);
      i = close === -1 ? html.length : close + 1;
    } else if (isLetter(next)) {
      const tag = readTag(html, lt + 1);
      i = tag.end;
      const href = tag.attributes.get("href");
      if (tag.name === "a" && href !== undefined) {
        if (links.length >= limit) return { links, truncated: true };
        links.push(decodeEntities(href.trim()));
      } else if (RAW_TEXT.has(tag.name)) {
        i = skipRawText(html, tag.name, i);
      } else if (tag.name === "plaintext") {
        break;
      }
    } else {
      i = lt + 1; // a stray "<" is text
    }
  }
  return { links, truncated: false };
}

/** The named references that occur in URLs; others stay as written (a URL rarely holds them). */
const NAMED: Record<string, string> = {
  amp: "&",
  lt: "<",
  gt: ">",
  quot: '"',
  apos: "'",
  nbsp: "\u00a0",
  sol: "/",
  num: "#",
  percnt: "%",
  quest: "?",
  equals: "=",
  colon: ":",
  period: ".",
};
/** Those the HTML tokenizer also reads without a semicolon (legacy references). */
const LEGACY = new Set(["amp", "lt", "gt", "quot", "nbsp"]);

/** Decodes character references in an attribute value, as the HTML tokenizer does for the common ones. */
export function decodeEntities(value: string): string {
  if (!value.includes("&")) return value;
  return value.replace(
    /&(?:#(\d{1,8})|#[xX]([0-9a-fA-F]{1,8})|([A-Za-z][A-Za-z0-9]{0,31}))(;?)/g,
    (whole, dec, hex, name, semi, at, text: string) => {
      if (name !== undefined) {
        const char = NAMED[name];
        if (char === undefined) return whole;
        if (semi) return char;
        // In an attribute, `&amp=1` and `&ampx` stay as written (so query strings survive).
        const following = text[at + whole.length];
        return LEGACY.has(name) && !(following !== undefined && /[=A-Za-z0-9]/.test(following)) ? char : whole;
      }
      const code = dec !== undefined ? Number.parseInt(dec, 10) : Number.parseInt(hex, 16);
      const valid = code > 0 && code <= 0x10ffff && !(code >= 0xd800 && code <= 0xdfff);
      return valid ? String.fromCodePoint(code) : "\ufffd";
    },
  );
}
