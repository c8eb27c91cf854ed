/**
 * Glob matching in linear time (SPEC 5): the pattern compiles to an NFA, and a key is matched by
 * stepping the set of live states one character at a time (Thompson's construction; see Russ
 * Cox, "Glob Matching Can Be Simple And Fast Too"). Nothing backtracks: a match costs at most
 * (key length + 1) x (states), and states grow linearly with the pattern, whose length is bounded.
 *
 * Syntax: `*` (any run within one segment), `**` as a whole segment (any depth: `**` then `/x`
 * also matches a top-level `x`; `a/` then `**` matches `a` and everything under it), `?` (one
 * character but `/`), `[...]` (ranges, `[!...]` or `[^...]` negated, never `/`), `{a,b}` (nested
 * allowed), `\x` (a literal x). Dotfiles match like any name. An unclosed `[` or `{`, and braces
 * without a comma (`{a}`), are literal; characters are code points.
 */
import { InvalidArgumentError } from "./errors.js";

/** Longer patterns are refused: the cost of each match grows with the pattern. */
export const MAX_GLOB_LENGTH = 2048;

const SLASH = 47;
const BACKSLASH = 92;
const STAR = 42;

/** Inclusive code point ranges; `negate` flips them. Never matches `/`. */
interface CharClass {
  ranges: number[];
  negate: boolean;
}
/** What one character must be: a code point, a class, or one of the wildcards below. */
type Test = number | CharClass;
/** `?` and the body of `*`: any character but `/`. */
const IN_SEGMENT = -1;
/** The body of `**`: any character. */
const ANY = -2;

/** Parsed items. `**` becomes one of three forms, depending on the slashes around it. */
type Item =
  | { kind: "char"; test: Test }
  | { kind: "star" } // `*`: any run of characters but `/`
  | { kind: "anything" } // `**` alone: any run
  | { kind: "dirs" } // `**` and the `/` after it: nothing, or any run ending in `/`
  | { kind: "below" } // `/` and a last `**`: nothing, or `/` and any run
  | { kind: "alt"; alts: Item[][] };

export interface GlobMatcher {
  (key: string): boolean;
  /** Number of NFA states. */
  readonly states: number;
  /** State visits so far, summed over every match (a work counter for tests). */
  steps: number;
}

/**
 * Compiles a glob into a matcher of store-relative keys.
 * @throws InvalidArgumentError for an empty or overlong pattern, or a trailing lone `\`.
 * @example
 * compileGlob("data/*.{json,csv}")("data/b.json") // true
 */
export function compileGlob(pattern: string): GlobMatcher {
  if (typeof pattern !== "string" || pattern === "") throw new InvalidArgumentError("glob must be a non-empty string");
  if (pattern.length > MAX_GLOB_LENGTH)
    throw new InvalidArgumentError(`glob too long: ${pattern.length} characters (at most ${MAX_GLOB_LENGTH})`);
  const text = Array.from(pattern.startsWith("./") ? pattern.slice(2) : pattern, (c) => c.codePointAt(0)!);
  const items = new Parser(text, pattern).parse();
  return simulate(buildNfa(items));
}

/** Index just past the `]` closing a class that opens at `i`, or -1 when it is never closed. */
function classEnd(text: number[], i: number): number {
  let j = i + 1;
  if (text[j] === 33 /* ! */ || text[j] === 94 /* ^ */) j++;
  if (text[j] === 93 /* ] */) j++; // a leading `]` is a member
  for (; j < text.length; j++) {
    if (text[j] === BACKSLASH) j++;
    else if (text[j] === 93) return j + 1;
  }
  return -1;
}

class Parser {
  /** For each `{` that opens a brace with alternatives: its commas, then its `}`. */
  readonly #braces = new Map<number, number[]>();

  constructor(
    readonly text: number[],
    readonly pattern: string,
  ) {
    this.#matchBraces();
  }

  parse(): Item[] {
    return this.#sequence(0, this.text.length, true, true);
  }

  /** One linear pass pairing braces (escapes and classes skipped); braces without a comma stay literal. */
  #matchBraces(): void {
    const { text } = this;
    const open: number[][] = []; // per open brace: its index, then its commas
    for (let i = 0; i < text.length; i++) {
      const c = text[i];
      if (c === BACKSLASH) {
        if (++i === text.length) throw new InvalidArgumentError(`glob ends with a lone backslash: ${this.pattern}`);
      } else if (c === 91 /* [ */) {
        const end = classEnd(text, i);
        if (end !== -1) i = end - 1;
      } else if (c === 123 /* { */) open.push([i]);
      else if (c === 44 /* , */ && open.length > 0) open[open.length - 1]!.push(i);
      else if (c === 125 /* } */ && open.length > 0) {
        const [start, ...commas] = open.pop()!;
        if (commas.length > 0) this.#braces.set(start!, [...commas, i]);
      }
    }
  }

  /** Items of `text[from, to)`; `atStart`/`atEnd`: whether a segment boundary lies just outside. */
  #sequence(from: number, to: number, atStart: boolean, atEnd: boolean): Item[] {
    const { text } = this;
    const items: Item[] = [];
    const boundaryBefore = () => {
      const last = items[items.length - 1];
      return last === undefined ? atStart : (last.kind === "char" && last.test === SLASH) || last.kind === "dirs";
    };
    for (let i = from; i < to; i++) {
      const c = text[i]!;
      const braceEnds = this.#braces.get(i);
      const classClose = c === 91 /* [ */ ? classEnd(text, i) : -1;
      if (c === BACKSLASH) items.push({ kind: "char", test: text[++i]! });
      else if (c === 63 /* ? */) items.push({ kind: "char", test: IN_SEGMENT });
      else if (classClose !== -1) {
        items.push({ kind: "char", test: parseClass(text, i, classClose) });
        i = classClose - 1;
      } else if (braceEnds !== undefined) {
        const close = braceEnds[braceEnds.length - 1]!;
        const before = boundaryBefore();
        const after = close + 1 === to ? atEnd : text[close + 1] === SLASH;
        let start = i + 1;
        const alts = braceEnds.map((end) => {
          const alt = this.#sequence(start, end, before, after);
          start = end + 1;
          return alt;
        });
        items.push({ kind: "alt", alts });
        i = close;
      } else if (c === STAR) {
        let run = 1;
        for (; i + 1 < to && text[i + 1] === STAR; i++) run++;
        const next = i + 1 === to ? (atEnd ? -1 : 0) : text[i + 1];
        // `**` is any depth only as a whole segment; elsewhere (and `***`) it is `*`.
        if (run !== 2 || !boundaryBefore() || (next !== -1 && next !== SLASH)) items.push({ kind: "star" });
        else if (next === SLASH) {
          items.push({ kind: "dirs" });
          i++;
        } else if (items[items.length - 1]?.kind === "char") {
          items.pop(); // that char is a `/`
          items.push({ kind: "below" });
        } else items.push({ kind: "anything" });
      } else items.push({ kind: "char", test: c });
    }
    return items;
  }
}

/** The class `text[start, end)`, `[` and `]` included. */
function parseClass(text: number[], start: number, end: number): CharClass {
  let i = start + 1;
  const negate = text[i] === 33 || text[i] === 94;
  if (negate) i++;
  const ranges: number[] = [];
  const last = end - 1; // the closing `]`
  const member = () => (text[i] === BACKSLASH ? text[++i]! : text[i]!);
  for (; i < last; i++) {
    const low = member();
    if (text[i + 1] === 45 /* - */ && i + 2 < last) {
      i += 2;
      ranges.push(low, member());
    } else ranges.push(low, low);
  }
  return { ranges, negate };
}

function classMatches(k: CharClass, c: number): boolean {
  if (c === SLASH) return false;
  const { ranges } = k;
  let inside = false;
  for (let r = 0; r < ranges.length && !inside; r += 2) inside = c >= ranges[r]! && c <= ranges[r + 1]!;
  return inside !== k.negate;
}

const passes = (test: Test, c: number): boolean =>
  typeof test === "number" ? test === c || (test === IN_SEGMENT ? c !== SLASH : test === ANY) : classMatches(test, c);

/** An NFA: state `s` either reads one character (`tests[s]`, then goes to `next[s]`) or is free to move along `free[s]`. */
interface Nfa {
  tests: (Test | undefined)[];
  next: number[];
  free: number[][];
  start: number;
  accept: number;
}

/** Builds the NFA back to front, each item given the state that follows it. */
function buildNfa(items: Item[]): Nfa {
  const nfa: Nfa = { tests: [], next: [], free: [], start: 0, accept: 0 };
  const add = (test: Test | undefined, next: number, free: number[] = []) => {
    nfa.tests.push(test);
    nfa.next.push(next);
    nfa.free.push(free);
    return nfa.tests.length - 1;
  };
  /** Any run of characters passing `test`, then `follow`. */
  const loop = (test: Test, follow: number) => {
    const state = add(undefined, -1);
    nfa.free[state] = [add(test, state), follow];
    return state;
  };
  const item = (it: Item, follow: number): number => {
    switch (it.kind) {
      case "char":
        return add(it.test, follow);
      case "star":
        return loop(IN_SEGMENT, follow);
      case "anything":
        return loop(ANY, follow);
      case "dirs":
        return add(undefined, -1, [loop(ANY, add(SLASH, follow)), follow]);
      case "below":
        return add(undefined, -1, [add(SLASH, loop(ANY, follow)), follow]);
      case "alt":
        return add(
          undefined,
          -1,
          it.alts.map((alt) => sequence(alt, follow)),
        );
    }
  };
  const sequence = (seq: Item[], follow: number) => seq.reduceRight((next, it) => item(it, next), follow);
  nfa.accept = add(undefined, -1);
  nfa.start = sequence(items, nfa.accept);
  return nfa;
}

/** The DFA cache is dropped past this many DFA states, or NFA states summed over them. */
const MAX_DFA_STATES = 1000;
const MAX_CACHED_NFA_STATES = 50_000;

/**
 * The matcher: steps the set of live NFA states over the key's code points. Each set met is
 * cached as a DFA state with its transitions (a lazy DFA), so matching many keys against one
 * pattern mostly costs one table lookup per character; the cache is bounded and dropped when
 * full, so a pattern with many DFA states is still matched at the NFA's cost.
 */
function simulate(nfa: Nfa): GlobMatcher {
  const { tests, next, free, accept } = nfa;
  const seen = new Int32Array(tests.length); // generation in which each NFA state joined the set
  let generation = 0;
  const nextGeneration = () => {
    if (++generation < 0x7fffffff) return;
    seen.fill(0);
    generation = 1;
  };
  const stack: number[] = [];
  let steps = 0;

  /** Adds `state` and everything reachable from it without reading to `into`: the states that read, and `accept`. */
  const enter = (state: number, into: number[]) => {
    stack.push(state);
    while (stack.length > 0) {
      const s = stack.pop()!;
      if (seen[s] === generation) continue;
      seen[s] = generation;
      steps++;
      if (tests[s] !== undefined || s === accept) into.push(s);
      for (const f of free[s]!) if (seen[f] !== generation) stack.push(f);
    }
  };
  /** The set after reading `c` from `set`, sorted (a set's identity). */
  const advance = (set: number[], c: number): number[] => {
    nextGeneration();
    const into: number[] = [];
    for (const s of set) {
      steps++;
      const test = tests[s];
      if (test !== undefined && passes(test, c)) enter(next[s]!, into);
    }
    return into.sort((a, b) => a - b);
  };

  // The DFA cache: sets by id, their ids by content, transitions for ASCII in tables, others in a map.
  let ids = new Map<string, number>();
  let sets: number[][] = [];
  let ascii: Int32Array[] = [];
  let wide = new Map<number, number>();
  let cached = 0;
  let startId = -1;
  const intern = (set: number[]): number => {
    const name = set.join();
    let id = ids.get(name);
    if (id !== undefined) return id;
    if (sets.length >= MAX_DFA_STATES || cached >= MAX_CACHED_NFA_STATES) {
      [ids, sets, ascii, wide, cached, startId] = [new Map(), [], [], new Map(), 0, -1];
    }
    id = sets.length;
    ids.set(name, id);
    sets.push(set);
    ascii.push(new Int32Array(128).fill(-1));
    cached += set.length + 1;
    return id;
  };
  const startSet: number[] = [];
  nextGeneration();
  enter(nfa.start, startSet);
  startSet.sort((a, b) => a - b);

  const matcher = ((key: string): boolean => {
    if (startId === -1) startId = intern(startSet);
    let state = startId;
    for (let i = 0; i < key.length; ) {
      const c = key.codePointAt(i)!;
      i += c > 0xffff ? 2 : 1;
      steps++;
      let to = c < 128 ? ascii[state]![c]! : (wide.get(state * 0x110000 + c) ?? -1);
      if (to === -1) {
        const from = sets;
        to = intern(advance(sets[state]!, c));
        // Record the transition unless interning dropped the cache (`state` is then stale).
        if (sets === from) {
          if (c < 128) ascii[state]![c] = to;
          else wide.set(state * 0x110000 + c, to);
        }
      }
      if (sets[to]!.length === 0) return false;
      state = to;
    }
    return sets[state]!.includes(accept);
  }) as GlobMatcher;
  Object.defineProperty(matcher, "states", { value: tests.length });
  Object.defineProperty(matcher, "steps", { get: () => steps, set: (n: number) => (steps = n) });
  return matcher;
}
