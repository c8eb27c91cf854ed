import { InvalidArgumentError } from "../../../core/errors.js";

/**
 * Splits `[anystore+]http(s)://host/path` into the origin, the path (as sent), the key prefix
 * it stands for (as Python anystore reads it), and whether it speaks the anystore protocol.
 */
export function parseUrl(url: string): { basePath: string; origin: string; prefix: string; protocol: boolean } {
  const match = /^(anystore\+)?(https?):\/\/(.*)$/i.exec(url);
  if (!match)
    throw new InvalidArgumentError(
      `the http driver needs an http(s):// or anystore+http(s):// url, got ${JSON.stringify(url)}`,
    );
  const parsed = new URL(`${match[2]!.toLowerCase()}://${match[3]}`);
  const path = parsed.pathname.replace(/\/+$/, "");
  const prefix = path
    .split("/")
    .filter(Boolean)
    .map((s) => decodeURIComponent(s))
    .join("/");
  return { basePath: path, origin: parsed.origin, prefix, protocol: !!match[1] };
}
