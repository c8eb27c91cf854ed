/**
 * What the HTTP handler reads from a request before it reaches the store: the key a URL path
 * names (unsafe paths refused in every encoding) and the body, counted against the size limit.
 * A request it refuses is a `Refusal`, thrown inside the handler and answered once.
 */

import { H } from "./protocol.js";

/** A request the handler refuses with a status; thrown inside, answered once. */
export class Refusal extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/**
 * True when a URL path (still percent-encoded) tries to climb out of the root in any
 * encoding: `..` raw or as `%2e%2e`, encoded slashes `%2f`, backslashes raw or `%5c`, and
 * the same again under double (or deeper) encoding. The Node adapter also checks the raw
 * request target, before URL parsing can resolve `..` away.
 */
export function isUnsafePath(path: string): boolean {
  if (path.includes("\\")) return true;
  for (const raw of path.split("/")) {
    let segment = raw;
    for (let depth = 0; depth < 4; depth++) {
      let decoded: string;
      try {
        decoded = decodeURIComponent(segment);
      } catch {
        return true;
      }
      if (decoded === ".." || decoded.includes("/") || decoded.includes("\\") || decoded.includes("\0")) return true;
      if (decoded === segment) break;
      segment = decoded;
    }
  }
  return false;
}

/** The key (or listing prefix) a URL path names, decoded once per segment. */
export function keyOf(pathname: string): string {
  if (isUnsafePath(pathname)) {
    throw new Refusal(400, `InvalidKeyError: unsafe path ${JSON.stringify(pathname.slice(0, 200))}`, {
      [H.error]: "INVALID_KEY",
    });
  }
  return pathname
    .split("/")
    .map((segment) => decodeURIComponent(segment))
    .filter((segment) => segment !== "")
    .join("/");
}

/** How a request body ended, for the answer to a failed write. */
export interface BodyWatch {
  body: ReadableStream<Uint8Array>;
  tooLarge: boolean;
  /** The client's body failed (cut off mid-upload, malformed): its fault, not the store's. */
  broken: boolean;
}

/** The body, counted as it passes: past `max` it errors, which aborts the store's write. */
export function watchBody(source: ReadableStream<Uint8Array>, max: number): BodyWatch {
  const reader = source.getReader();
  let seen = 0;
  const watch: BodyWatch = {
    tooLarge: false,
    broken: false,
    body: new ReadableStream<Uint8Array>({
      async pull(controller) {
        let next: ReadableStreamReadResult<Uint8Array>;
        try {
          next = await reader.read();
        } catch (error) {
          watch.broken = true;
          throw error;
        }
        if (next.done) return controller.close();
        seen += next.value.byteLength;
        if (seen > max) {
          watch.tooLarge = true;
          await reader.cancel().catch(() => {});
          throw new Refusal(413, `request body over ${max} bytes`);
        }
        controller.enqueue(next.value);
      },
      cancel: (reason) => reader.cancel(reason),
    }),
  };
  return watch;
}
