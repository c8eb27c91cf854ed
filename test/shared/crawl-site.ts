/**
 * What a crawl of the hostile test site (test/node/crawl-server.ts) must find. Data only, so
 * the browser tests can import it too.
 */

/** The keys a full crawl of the hostile site finds with `maxDepth` 3 (`target/` and `indexed/` are reached through redirects). */
export function hostileKeys(): string[] {
  return [
    "top.txt",
    "loop/a/a1.txt",
    "loop/b/b1.txt",
    ...Array.from({ length: 10_000 }, (_, i) => `many/f${String(i).padStart(5, "0")}.txt`),
    ...[
      "unquoted",
      "after-gt",
      "single",
      "amp&ersand",
      "numeric",
      "spaced",
      "second-attr",
      "unclosed",
      "after-unclosed",
    ].map((name) => `malformed/${name}.txt`),
    "deep/f.txt",
    "deep/d/f.txt",
    "deep/d/d/f.txt",
    "bad/ok.txt",
    "subdir/s.txt",
    "indexed/i.txt",
    "target/t.txt",
  ].sort();
}
