/**
 * Checks on a raw request line, made before anything builds a `URL` or a `Request` from it:
 * both throw on input Node's parser lets through (`TRACE`, `GET //`, `http://[/x`), and URL
 * parsing would resolve `/a/../b` away before the key checks could see it.
 */

import { METHODS } from "../core/http/protocol.js";
import { isUnsafePath } from "../core/http/request.js";
import { URI_SCHEME } from "../core/uri.js";

/** The methods the anystore protocol answers; Node's parser lets others through (TRACE, PROPFIND, ...). */
const KNOWN = new Set<string>(METHODS);

/** A refusal: the status and one line of text, with its headers. */
export interface Refused {
  status: number;
  text: string;
  headers?: Record<string, string>;
}

/** A scheme and an authority: what absolute-form adds before the path. */
const ABSOLUTE = new RegExp(`${URI_SCHEME.source}[^/?#]*`);

/**
 * The origin-form target (`/path?query`) a request line stands for, or why it is refused.
 * Absolute-form (`http://host/path`, as proxies send) is accepted and its authority ignored;
 * `*` only with OPTIONS; anything else is 400.
 */
export function originForm(method: string, target: string): string | Refused {
  if (!KNOWN.has(method)) {
    return { status: 405, text: `method ${method} is not allowed`, headers: { allow: METHODS.join(", ") } };
  }
  if (target === "*")
    return method === "OPTIONS" ? "/" : { status: 400, text: "a request target of * is only for OPTIONS" };
  let path = target;
  const absolute = ABSOLUTE.exec(target);
  if (absolute) {
    if (!isParsable(target) || !/^https?:/i.test(target))
      return { status: 400, text: "malformed absolute request target" };
    path = target.slice(absolute[0].length);
    if (!path.startsWith("/")) path = `/${path}`;
  }
  if (!path.startsWith("/")) return { status: 400, text: "the request target must start with /" };
  if (path.includes("#")) return { status: 400, text: "a request target has no fragment" };
  // Refused on the raw target, before URL parsing resolves `/a/../b` and `/a\..\b` away.
  if (isUnsafePath(path.split("?", 1)[0]!)) {
    return { status: 400, text: "InvalidKeyError: unsafe path", headers: { "x-anystore-error": "INVALID_KEY" } };
  }
  return path;
}

function isParsable(url: string): boolean {
  try {
    new URL(url);
    return true;
  } catch {
    return false;
  }
}
