/**
 * The glob matcher (src/core/glob.ts): a differential test against picomatch (which listing used
 * before, with `dot: true`), the points where the two differ on purpose, and patterns that make a
 * backtracking matcher take exponential time, checked by counting steps rather than by timing.
 */
import picomatch from "picomatch/posix.js";
import { afterAll, describe, expect, it } from "vitest";
import { compileGlob, MAX_GLOB_LENGTH } from "../../src/core/glob.js";
import type { RunningServer } from "../../src/index.node.js";
import { createStore, isAnystoreError, serve } from "../../src/index.node.js";
import { collectKeys } from "../shared/contract.js";

/** A small deterministic generator (so a failure reproduces). */
function random(seed: number) {
  const next = () => {
    seed = (Math.imul(seed, 1103515245) + 12345) & 0x7fffffff;
    return seed / 0x80000000;
  };
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(next() * xs.length)]!;
  return { next, pick, int: (n: number) => Math.floor(next() * n) };
}

/** A pattern and a sampler of keys it should match (samples may still miss: a sampled `[` can open a class). */
interface Generated {
  glob: string;
  sample: () => string;
}

function corpus(seed: number) {
  const r = random(seed);
  const literals = ["a", "b", "c", ".", "-", "_", "x"];
  const keyChars = ["a", "b", "c", ".", "-", "x", "*", "?", "[", "]", "{", "}", ","];
  const segment = () => {
    const s = Array.from({ length: 1 + r.int(3) }, () => r.pick(keyChars)).join("");
    return s === "." || s === ".." ? `a${s}` : s;
  };
  const fixed = (glob: string, text = glob): Generated => ({ glob, sample: () => text });
  const classes = [
    ["[ab]", "ab"],
    ["[a-c]", "abc"],
    ["[^a]", "bc.x"],
    ["[]a]", "]a"],
    ["[.]", "."],
    ["[a\\]]", "a]"],
    ["[x-]", "x-"],
    ["[-x]", "-x"],
  ] as const;
  const escapes = [
    ["\\*", "*"],
    ["\\?", "?"],
    ["\\[", "["],
    ["\\{", "{"],
    ["\\}", "}"],
    ["\\,", ","],
    ["\\a", "a"],
    ["\\]", "]"],
  ] as const;
  const atom = (depth: number): Generated => {
    const p = r.next();
    if (p < 0.3) return fixed(r.pick(literals));
    if (p < 0.42) return { glob: "*", sample: () => (r.next() < 0.3 ? "" : segment()) };
    if (p < 0.5) return { glob: "?", sample: () => r.pick(literals) };
    if (p < 0.6) {
      const [glob, members] = r.pick(classes);
      return { glob, sample: () => r.pick([...members]) };
    }
    if (p < 0.68) return fixed(...r.pick(escapes));
    if (p < 0.8 && depth < 2) {
      const alts = Array.from({ length: 2 + r.int(2) }, () => sequence(depth + 1, r.next() < 0.15 ? 0 : 1 + r.int(3)));
      return { glob: `{${alts.map((a) => a.glob).join(",")}}`, sample: () => r.pick(alts).sample() };
    }
    if (p < 0.86) return fixed("/");
    // Literal unless they pair up. (Not `[` or `]`: picomatch leaves `.` and `?` unescaped after an unclosed class.)
    if (p < 0.9) return fixed(r.pick(["{", "}", ",", "{a}", "{}"]));
    return { glob: "**", sample: () => Array.from({ length: r.int(3) }, segment).join("/") };
  };
  const sequence = (depth: number, length: number): Generated => {
    const parts = Array.from({ length }, () => atom(depth));
    return { glob: parts.map((a) => a.glob).join(""), sample: () => parts.map((a) => a.sample()).join("") };
  };
  const validKey = (k: string) => k.split("/").every((s) => s !== "" && s !== "." && s !== "..");
  const pool = Array.from({ length: 300 }, () => Array.from({ length: 1 + r.int(3) }, segment).join("/"));
  return {
    pattern: () => sequence(0, 1 + r.int(5)),
    keysFor: (g: Generated) =>
      [...Array.from({ length: 20 }, g.sample), ...Array.from({ length: 20 }, () => r.pick(pool))].filter(validKey),
  };
}

/**
 * Patterns where picomatch is not the reference (the "on purpose" cases below show ours):
 * - it gives up on the pattern (its regex is then `$^`), e.g. an unclosed `{` before an escape;
 * - `..` inside braces (its ranges);
 * - `**` touching a brace, whose meaning depends on what surrounds the brace;
 * - a `*` touching a `.`: its `.*` never matches an empty or `.` tail, and a leading `**.x` is any depth;
 * - three stars or more (it then leaves some `.` unescaped), a `*` before a final `/**`.
 */
const picomatchQuirk = (glob: string) =>
  picomatch.makeRe(glob, { dot: true }).source === "$^" ||
  glob.includes("..") ||
  /\*\*[{},]|[{},]\*\*/.test(glob) ||
  /\*\.|\.\*/.test(glob) ||
  /\*\*\*|\*\/\*\*(?!\/)/.test(glob);

describe("glob matcher", () => {
  it("agrees with picomatch (dot: true) on a generated corpus of patterns and keys", () => {
    const gen = corpus(20240611);
    const mismatches: string[] = [];
    let pairs = 0;
    let matches = 0;
    for (let i = 0; i < 4000; i++) {
      const g = gen.pattern();
      if (picomatchQuirk(g.glob)) continue;
      const ours = compileGlob(g.glob);
      const theirs = picomatch(g.glob, { dot: true });
      // picomatch also matches a key equal to the pattern text, whatever the pattern means.
      for (const key of gen.keysFor(g).filter((k) => k !== g.glob)) {
        pairs++;
        const got = ours(key);
        if (got) matches++;
        if (got !== theirs(key)) mismatches.push(`${JSON.stringify(g.glob)} ${JSON.stringify(key)}: ours ${got}`);
      }
    }
    expect(mismatches.slice(0, 20)).toEqual([]);
    expect(pairs).toBeGreaterThan(50_000);
    expect(matches).toBeGreaterThan(pairs / 10); // the corpus exercises matches, not only misses
  });

  it("has ** in every position: alone, leading, inner, trailing, repeated, inside a segment", () => {
    const keys = ["x", "a", "a/x", "a/b/x", "a/b", "ax", "xa", "a/b/c/d", ".a/.b/x"];
    for (const glob of [
      "**",
      "**/x",
      "a/**",
      "a/**/x",
      "**/a/**",
      "**/**",
      "a**",
      "**a",
      "a/**x",
      "x**/b",
      "**/*",
      "*/a/**",
      "{a,b}/**",
      "**/{a,x}",
      "{a/**/x,b}",
      "a/**/b/**",
    ]) {
      const theirs = picomatch(glob, { dot: true });
      expect(keys.filter(compileGlob(glob)), glob).toEqual(keys.filter((k) => theirs(k)));
    }
  });

  it("differs from picomatch on purpose: [!...] negates, classes never match /, no extglobs or ranges", () => {
    const cases: Array<[string, string, boolean]> = [
      ["[!a]", "b", true], // picomatch/posix reads [!a] as "! or a"
      ["[!a]", "a", false],
      ["a[/]b", "a/b", false], // a class is one character within a segment
      ["a[+-0]b", "a/b", false],
      ["a[!x]b", "a/b", false],
      ["!a", "b", false], // no negation: `!` is a literal
      ["!a", "!a", true],
      ["@(a|b)", "a", false], // no extglobs
      ["(a|b)", "a", false],
      ["{a..c}", "b", false], // no brace ranges: a literal
      ["{a..c}", "{a..c}", true],
      ["?", "\u{1F600}", true], // characters are code points
      ["*.*", "a.", true], // `*` may be empty after a `.` too
      ["**.c", "a/x.c", false], // `**` inside a segment is `*`, leading or not
      // `**` at a brace's edge means what it means once the brace is expanded:
      ["{**/a,b}", "a", true], // as `**/a`
      ["x{a,**}", "x/y", false], // as `x**`, which is `x*`
      ["x{a,**}", "xyz", true],
      ["{**,b}/c", "p/q/c", true],
      // `x/**` matches what `x` matches and everything below, whatever `x` is (picomatch: not after a `*`).
      ["*/**", "a", true],
      ["a*/**", "ab", true],
    ];
    for (const [glob, key, expected] of cases) expect(compileGlob(glob)(key), `${glob} on ${key}`).toBe(expected);
  });

  it("keeps picomatch's literal cases: unclosed [ and {, braces without a comma, a leading ./", () => {
    expect(compileGlob("a[b")("a[b")).toBe(true);
    expect(compileGlob("{a,b")("{a,b")).toBe(true);
    expect(compileGlob("{a,{b,c}")("{a,c")).toBe(true);
    expect(compileGlob("{a}")("{a}")).toBe(true);
    expect(compileGlob("{a}")("a")).toBe(false);
    expect(compileGlob("./a/*")("a/b")).toBe(true);
  });

  it("refuses empty, overlong and dangling-escape patterns with InvalidArgumentError", () => {
    for (const glob of ["", "a".repeat(MAX_GLOB_LENGTH + 1), "a\\", 7 as unknown as string]) {
      let error: unknown;
      try {
        compileGlob(glob);
      } catch (e) {
        error = e;
      }
      expect(isAnystoreError(error, "INVALID_ARGUMENT"), String(glob).slice(0, 20)).toBe(true);
    }
    expect(compileGlob("a".repeat(MAX_GLOB_LENGTH))("a".repeat(MAX_GLOB_LENGTH))).toBe(true);
  });

  it("matches patterns that make backtracking explode in steps bounded by key length x states", () => {
    const a200 = "a".repeat(200);
    const cases: Array<[string, string, boolean]> = [
      [`${"*a".repeat(20)}b`, a200, false],
      [`${"*a".repeat(20)}b`, `${a200}b`, true],
      [`${"*".repeat(20)}b`, a200, false],
      [`${"*?".repeat(30)}b`, a200, false],
      [`${"{a,aa,aaa}".repeat(40)}b`, a200, false], // 3^40 expansions
      [`${"{a,{a,{a,{a,{a,b}}}}}".repeat(20)}c`, a200, false],
      [`${"{a,".repeat(500)}b${"}".repeat(500)}`, "b", true], // deep nesting compiles
      [`${Array(20).fill("**/a").join("/")}/b`, Array(200).fill("a").join("/"), false],
      [`${"*a*".repeat(100)}[!a]`, a200, false],
    ];
    for (const [glob, key, expected] of cases) {
      const match = compileGlob(glob);
      expect(match.states).toBeLessThanOrEqual(4 * glob.length + 4);
      expect(match(key), glob.slice(0, 40)).toBe(expected);
      // Each character: every live state tested once, every state entered at most once.
      expect(match.steps, glob.slice(0, 40)).toBeLessThanOrEqual((key.length + 1) * (2 * match.states + 1));
    }
  });

  it("matches many keys against one pattern mostly from its cache", () => {
    const match = compileGlob("**/*.{json,csv}");
    const keys = Array.from({ length: 1000 }, (_, i) => `data/${i % 10}/file-${i}.${i % 2 ? "json" : "txt"}`);
    expect(keys.filter(match)).toHaveLength(500);
    const characters = keys.reduce((n, k) => n + k.length, 0);
    expect(match.steps).toBeLessThan(2 * characters); // about one step per character once warm
  });
});

describe("glob through serve()", () => {
  let server: RunningServer | undefined;
  afterAll(() => server?.close());

  it("answers a pathological ?glob= against a 200-character key, and refuses an overlong one with 400", async () => {
    const store = createStore("memory://");
    await store.put("a".repeat(200), "x");
    const deep = `d/${"a".repeat(20)}b`;
    await store.put(deep, "y");
    expect(await collectKeys(store.keys({ glob: "*a*a*a*a*a*a*a*a*a*a*a*ab" }))).toEqual([]);
    server = await serve(store);
    const list = async (glob: string) => {
      const res = await fetch(`${server!.url}/?glob=${encodeURIComponent(glob)}`);
      return { status: res.status, body: await res.text() };
    };
    expect(await list("*a*a*a*a*a*a*a*a*a*a*a*ab")).toEqual({ status: 200, body: "" });
    expect(await list("**/*a*a*a*a*a*a*a*a*a*a*a*ab")).toEqual({ status: 200, body: `${deep}\n` });
    expect((await list("*".repeat(MAX_GLOB_LENGTH + 1))).status).toBe(400);
    await store.close();
  });
});
