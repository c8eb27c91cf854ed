/**
 * Entry names: decoding (UTF-8 flag, Info-ZIP Unicode Path field, CP437) and which names are
 * keys. Hostile names are classified here, once, when the directory is parsed.
 */
import { normalizeKey } from "../../../core/keys.js";
import type { Entry } from "./format.js";
import { crc32, EXTRA, FLAG, findExtra, readU32 } from "./format.js";

const utf8 = new TextDecoder("utf-8", { fatal: true });
const latin1 = new TextDecoder("latin1");
/** The upper half of code page 437, the ZIP default for names without the UTF-8 flag. */
const CP437 =
  "ÇüéâäàåçêëèïîìÄÅÉæÆôöòûùÿÖÜ¢£¥₧ƒáíóúñÑªº¿⌐¬½¼¡«»░▒▓│┤╡╢╖╕╣║╗╝╜╛┐└┴┬├─┼╞╟╚╔╩╦╠═╬╧╨╤╥╙╘╒╓╫╪┘┌█▄▌▐▀αßΓπΣσµτΦΘΩδ∞φε∩≡±≥≤⌠⌡÷≈°∙·√ⁿ²■\u00a0";

/** Decodes an entry name: UTF-8 when flagged, Info-ZIP's Unicode Path field, plain UTF-8, else CP437. */
export function decodeName(bytes: Uint8Array, flags: number, extra: Uint8Array): string | null {
  if (flags & FLAG.utf8) {
    try {
      return utf8.decode(bytes);
    } catch {
      return null;
    }
  }
  let ascii = true;
  for (let i = 0; i < bytes.length && ascii; i++) ascii = bytes[i]! < 0x80;
  if (ascii) return latin1.decode(bytes);
  const unicode = findExtra(extra, EXTRA.unicodePath);
  if (unicode && unicode.length > 5 && unicode[0] === 1 && readU32(unicode, 1) === crc32(bytes)) {
    try {
      return utf8.decode(unicode.subarray(5));
    } catch {
      // fall through to the name itself
    }
  }
  try {
    return utf8.decode(bytes);
  } catch {
    return Array.from(bytes, (b) => (b < 0x80 ? String.fromCharCode(b) : CP437[b - 0x80]!)).join("");
  }
}

/**
 * What an entry name may be: a key only when it is exactly a valid, normalized key (SPEC 5)
 * and not a drive path; so `..`, absolute paths, backslashes, `./x`, `a//b` and `C:/x` are never
 * reachable, and a key maps to exactly one name.
 */
export function classify(name: string | null): { kind: Entry["kind"]; key: string } {
  if (!name) return { kind: "other", key: "" };
  const dir = name.endsWith("/");
  const path = dir ? name.slice(0, -1) : name;
  return isSafeKey(path) ? { kind: dir ? "dir" : "file", key: path } : { kind: "other", key: "" };
}

export function isSafeKey(key: string): boolean {
  if (/^[A-Za-z]:(\/|$)/.test(key)) return false; // `C:/x`: a drive-absolute path (`a:b` stays a valid key)
  try {
    return normalizeKey(key) === key;
  } catch {
    return false;
  }
}
