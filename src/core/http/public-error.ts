/**
 * What an error may say over HTTP. A response reaches whoever sent the request, so messages
 * from backends (file paths, hosts, SQL) stay on the server: IO and connection failures get a
 * generic line that still names the key, other messages lose anything that looks like a path.
 * Web APIs only.
 */

import type { AnystoreError, ErrorCode } from "../errors.js";
import { isAnystoreError } from "../errors.js";
import { statusOf } from "./protocol.js";

/** The parts of an error response. */
export interface PublicError {
  status: number;
  /** `Name: message`, one line. */
  line: string;
  code?: ErrorCode;
}

/** An absolute path (`/srv/data/x`, `C:\\data\\x`) with at least two separators. */
const PATH = /(?<![\w.~%-])(?:[A-Za-z]:)?[/\\][^\s"'`)]*[/\\][^\s"'`)]*/g;

/** True when the error or one of its causes is a Node system error with this code. */
function causedBy(error: unknown, code: string): boolean {
  for (let e = error, depth = 0; e && depth < 4; e = (e as { cause?: unknown }).cause, depth++) {
    if ((e as { code?: unknown }).code === code) return true;
  }
  return false;
}

const forKey = (error: AnystoreError) =>
  error.key === undefined ? "" : ` on key ${JSON.stringify(error.key.slice(0, 200))}`;

/** The status and the one line an error response may carry. */
export function publicError(error: unknown): PublicError {
  if (!isAnystoreError(error)) {
    // A malformed percent-encoding in a key is the client's fault; anything else is ours.
    if (error instanceof URIError)
      return { status: 400, line: "InvalidKeyError: malformed percent-encoding in the path", code: "INVALID_KEY" };
    return { status: 500, line: "AnystoreError: internal server error" };
  }
  switch (error.code) {
    case "IO":
      // A file system refusing a long name: the key's fault, not the server's.
      if (causedBy(error, "ENAMETOOLONG")) {
        return {
          status: 400,
          line: `InvalidKeyError: key or one of its segments is too long for this store${forKey(error)}`,
          code: "INVALID_KEY",
        };
      }
      return { status: 500, line: `AnystoreError: the store failed${forKey(error)}`, code: "IO" };
    case "CONNECTION":
      return { status: 503, line: "ConnectionError: the store's backend cannot be reached", code: "CONNECTION" };
    default: {
      const message = error.message.split("\n", 1)[0]!.replace(PATH, "<path>").slice(0, 500);
      return { status: statusOf(error), line: `${error.name}: ${message}`, code: error.code };
    }
  }
}
