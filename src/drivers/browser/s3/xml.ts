/**
 * Just enough XML for the S3 API, without a DOM (Node has no DOMParser): S3 responses are flat,
 * machine-written documents, so pulling the text of named elements out with a regex is exact
 * for the few shapes read here (ListBucketResult, InitiateMultipartUploadResult,
 * CompleteMultipartUploadResult, DeleteResult, Error).
 */

const ENTITIES: Record<string, string> = { amp: "&", lt: "<", gt: ">", quot: '"', apos: "'" };

/** Decodes the five named entities and numeric character references. */
export function xmlDecode(text: string): string {
  if (!text.includes("&")) return text;
  return text.replace(/&(#x[0-9a-fA-F]+|#[0-9]+|[a-z]+);/g, (whole, ref: string) => {
    if (ref[0] === "#") {
      const code = ref[1] === "x" ? parseInt(ref.slice(2), 16) : parseInt(ref.slice(1), 10);
      return code <= 0x10ffff ? String.fromCodePoint(code) : whole;
    }
    return ENTITIES[ref] ?? whole;
  });
}

/** True when XML 1.0 can carry the text at all (most C0 controls cannot, not even as references). */
export function xmlSafe(text: string): boolean {
  // eslint-disable-next-line no-control-regex
  // biome-ignore lint/suspicious/noControlCharactersInRegex: the control characters XML 1.0 forbids are what this looks for
  return !/[\u0000-\u0008\u000b\u000c\u000e-\u001f\ufffe\uffff]/.test(text);
}

/** Escapes text for an element body; tab, CR and LF as references so parsers keep them. */
export function xmlEncode(text: string): string {
  return text.replace(/[&<>"'\t\r\n]/g, (c) => `&#${c.charCodeAt(0)};`);
}

const patterns = new Map<string, RegExp>();

function pattern(tag: string): RegExp {
  let re = patterns.get(tag);
  if (!re) {
    // `<Tag>` or `<Tag attr="...">`, up to the first `</Tag>` (S3 never nests a tag in itself), or `<Tag/>`.
    re = new RegExp(`<${tag}(?:\\s[^>]*)?(?:/>|>([\\s\\S]*?)</${tag}>)`, "g");
    patterns.set(tag, re);
  }
  re.lastIndex = 0;
  return re;
}

/** The raw (undecoded) bodies of every `<tag>` element, in document order. */
export function elements(xml: string, tag: string): string[] {
  const out: string[] = [];
  for (const match of xml.matchAll(pattern(tag))) out.push(match[1] ?? "");
  return out;
}

/** The decoded text of the first `<tag>` element, or undefined when there is none. */
export function text(xml: string, tag: string): string | undefined {
  const match = pattern(tag).exec(xml);
  return match ? xmlDecode(match[1] ?? "") : undefined;
}

/** The decoded texts of every `<tag>` element. */
export function texts(xml: string, tag: string): string[] {
  return elements(xml, tag).map(xmlDecode);
}
