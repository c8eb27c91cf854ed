/**
 * The hostile requests of server-hostile.test.ts, as raw bytes: methods, request targets (`..`
 * in every encoding, odd forms and lengths), headers, broken bodies, and listing parameters.
 * `MARK` names the files a traversal would create, so the test can look for them outside the root.
 */

import { rawRequest } from "./raw-http.js";

export const MARK = `pwn${process.pid}x${Math.random().toString(36).slice(2, 8)}`;
export const TOKEN = "t0ken";

export interface Case {
  name: string;
  data: string | Buffer;
  /** A syntactically valid request: it must get a status line, not just a closed socket. */
  answered: boolean;
}

const METHODS = [
  "GET",
  "HEAD",
  "PUT",
  "DELETE",
  "PATCH",
  "OPTIONS",
  "POST",
  "TRACE",
  "TRACK",
  "CONNECT",
  "PROPFIND",
  "MKCOL",
  "COPY",
  "MOVE",
  "LOCK",
  "UNLOCK",
  "SEARCH",
  "PURGE",
  "QUERY",
  "LINK",
  "M-SEARCH",
];
const GARBAGE_METHODS = ["get", "Get", "FOO", "G ET", "GET\0", "", "\u00ff", "GET\tX", "X".repeat(300)];

/** Request targets: traversal in every encoding, odd forms, odd lengths. `@` becomes the marker. */
const TARGETS = [
  "/",
  "//",
  "///",
  "/hello",
  "/a/b",
  "/a//b",
  "/./hello",
  "/hello/.",
  "/.",
  "/..",
  "/../@",
  "/../../@",
  "/a/../@",
  "/a/../../@",
  "/%2e%2e/@",
  "/%2E%2e/@",
  "/.%2e/@",
  "/%2e./@",
  "/%2e",
  "/%2e%2e",
  "/a/%2e%2e/%2e%2e/@",
  "/%2f",
  "/a%2f@",
  "/..%2f@",
  "/%2f..%2f@",
  "/%5c",
  "/a%5c..%5c@",
  "/a\\..\\@",
  "/%252e%252e/@",
  "/%25252e%25252e/@",
  "/%252f@",
  "/%255c@",
  "/%25",
  "/%",
  "/%zz",
  "/%e2%82",
  "/%c0%ae%c0%ae/@",
  "/%ff",
  "/%00",
  "/a%00b",
  "/..%00/@",
  "/%2e%2e%00/@",
  "/.anystore/x",
  "/a/.anystore/ttl",
  "/.anystore-tmp-x",
  "*",
  "http://h/hello",
  "http://h",
  "http://h?x=1",
  "http://[/x",
  "http://h/../@",
  "https://h/%2e%2e/@",
  "ftp://h/x",
  "file:///etc/passwd",
  "//etc/passwd",
  "//h/../@",
  "x",
  "hello",
  "/hello#frag",
  "/hello?%zz",
  "/?prefix=../",
  "/?prefix=%2e%2e",
  "/?exclude_prefix=..",
  "/?prefix=%00",
  "/hello?checksum=true&algorithm=../../x",
  "/hello?checksum=true&algorithm=%00",
  "/hello?checksum=maybe",
  "/k;p=1",
  "/~",
  "/%20",
  "/\u00e9",
  "/a".repeat(300),
  `/${"a".repeat(255)}`,
  `/${"a".repeat(256)}`,
  `/${"a".repeat(300)}/b`,
  `/${"%41".repeat(400)}`,
  `/${"a".repeat(5000)}`,
  `/${"a/".repeat(2000)}x`,
  `/${"a".repeat(20_000)}`,
  "/@",
  "/a/b/c/d/e/f/@",
];

/** Glob shapes for `?glob=`, kept against short keys (another engineer replaces the matcher). */
const GLOBS = [
  "*",
  "**",
  "**/*",
  "*/*",
  "a*",
  "*a*a*a*a*a*ab",
  "?",
  "??",
  "a?b",
  "[",
  "]",
  "[a-",
  "[a-z]",
  "[!a]",
  "[^a]",
  "[[:alpha:]]",
  "{",
  "}",
  "{a,b}",
  "{a,{b,c}}",
  "{,}",
  "a{,}b",
  "{1..3}",
  "{a..c}",
  "!(a)",
  "+(a|b)",
  "@(a)",
  "?(a)",
  "*(a|b)*",
  "(",
  ")",
  "|",
  "\\",
  "\\*",
  "..",
  "../*",
  "../../*",
  "/",
  "//",
  "/*",
  "***",
  "**/**/**",
  "a/**/b",
  "$",
  "^",
  "%",
  "\0",
  "a".repeat(300),
  "*".repeat(60),
  "?".repeat(60),
  "{a,b}".repeat(6),
  "[a]".repeat(40),
  "**/".repeat(30),
  "*a".repeat(30),
  ".anystore/**",
  "**/.anystore*",
];

const PREFIXES = ["", "/", "a", "a/", "..", "../", "%2e%2e", "\0", ".anystore", "a".repeat(400)];

const enc = encodeURIComponent;

export function buildCorpus(): Case[] {
  const cases: Case[] = [];
  const add = (name: string, data: string | Buffer, answered = true) => cases.push({ name, data, answered });
  const target = (t: string) => t.replaceAll("@", MARK);
  for (const method of METHODS) {
    for (const t of ["/hello", "/", "*", `/../${MARK}`, "//"]) {
      // Node answers CONNECT and rejects some methods in its parser: a status either way.
      add(`${method} ${t}`, rawRequest(method, t, [], method === "PUT" || method === "POST" ? "x" : ""));
    }
  }
  for (const method of GARBAGE_METHODS)
    add(`garbage method ${JSON.stringify(method.slice(0, 20))}`, rawRequest(method, "/hello"), false);
  for (const t of TARGETS) {
    for (const method of ["GET", "HEAD", "PUT", "DELETE", "PATCH", "OPTIONS"]) {
      add(`${method} ${t.slice(0, 60)}`, rawRequest(method, target(t), [], method === "PUT" ? "x" : ""), false);
    }
  }
  const headerCases: Array<[string, string[]]> = [
    ["range", ["Range: bytes=0-0"]],
    ["range twice", ["Range: bytes=0-0", "Range: bytes=1-1"]],
    ["range list", ["Range: bytes=0-1,2-3"]],
    ["range empty", ["Range: bytes=-"]],
    ["range huge", ["Range: bytes=99999999999999999999999-"]],
    ["range reversed", ["Range: bytes=3-1"]],
    ["range unit", ["Range: bits=0-1"]],
    ["range blank", ["Range: "]],
    ["range spaces", ["Range: bytes = 0 - 1"]],
    ["auth twice", [`Authorization: Bearer ${TOKEN}`, "Authorization: Bearer nope"]],
    ["auth empty", ["Authorization: "]],
    ["auth bearer only", ["Authorization: Bearer"]],
    ["auth basic", ["Authorization: Basic dDA6a2Vu"]],
    ["auth long", [`Authorization: Bearer ${"a".repeat(8000)}`]],
    ["auth latin1", ["Authorization: Bearer \u00ff\u00fe"]],
    ["if-none-match", ['If-None-Match: "x", W/"y", *']],
    ["if-none-match garbage", ["If-None-Match: W/"]],
    ["if-match", ["If-Match: *"]],
    ["origin null", ["Origin: null"]],
    ["origin huge", [`Origin: https://${"a".repeat(5000)}.example`]],
    ["no host", []],
    ["host twice", ["Host: a", "Host: b"]],
    ["expect continue", ["Expect: 100-continue"]],
    ["expect other", ["Expect: something"]],
    ["upgrade", ["Connection: Upgrade", "Upgrade: websocket"]],
    [
      "h2c upgrade",
      ["Connection: Upgrade, HTTP2-Settings", "Upgrade: h2c", "HTTP2-Settings: AAMAAABkAARAAAAAAAIAAAAA"],
    ],
    ["many headers", Array.from({ length: 3000 }, (_, i) => `X-H${i}: ${i}`)],
    ["huge header", [`X-Big: ${"b".repeat(20_000)}`]],
    ["obs-fold", ["X-Folded: a", " continued"]],
    ["bad name", ["X Y: z"]],
    ["nul value", ["X-Nul: a\0b"]],
    ["latin1 value", ["X-Latin: \u00e9\u00ff"]],
    ["colon only", [":"]],
    ["no colon", ["NoColonHere"]],
    ["content-type odd", ['Content-Type: a/b; x="', "Accept: */*"]],
    ["x-anystore-ttl", ["X-Anystore-Ttl: 1e309"]],
  ];
  for (const [name, headers] of headerCases) {
    for (const method of ["GET", "PUT"]) {
      const lines =
        name === "no host"
          ? [`${method} /hello HTTP/1.1`]
          : [`${method} /hello HTTP/1.1`, "Host: 127.0.0.1", ...headers];
      const body = method === "PUT" ? "value" : "";
      if (body) lines.push(`Content-Length: ${body.length}`);
      add(`${method} header ${name}`, `${lines.join("\r\n")}\r\n\r\n${body}`, false);
    }
  }
  const bodyCases: Array<[string, string[], string]> = [
    ["ttl negative", ["X-Anystore-Ttl: -1"], "v"],
    ["ttl nan", ["X-Anystore-Ttl: NaN"], "v"],
    ["ttl words", ["X-Anystore-Ttl: abc"], "v"],
    ["ttl huge", ["X-Anystore-Ttl: 999999999999999999"], "v"],
    ["content-type unicode", ["Content-Type: text/\u00ff"], "v"],
    ["create if none", ["If-None-Match: *"], "v"],
    ["body shorter than declared", ["Content-Length: 50"], "short"],
    ["body longer than declared", ["Content-Length: 1"], "abcdef"],
    ["negative length", ["Content-Length: -1"], "x"],
    ["words length", ["Content-Length: abc"], "x"],
    ["float length", ["Content-Length: 1.5"], "x"],
    ["huge length", ["Content-Length: 99999999999999999999"], "x"],
    ["over the body limit", ["Content-Length: 2000000000"], "x"],
    ["two lengths", ["Content-Length: 1", "Content-Length: 2"], "xy"],
    ["length and chunked", ["Content-Length: 3", "Transfer-Encoding: chunked"], "3\r\nabc\r\n0\r\n\r\n"],
    ["chunked", ["Transfer-Encoding: chunked"], "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\n"],
    ["chunked garbage size", ["Transfer-Encoding: chunked"], "zz\r\nabc\r\n0\r\n\r\n"],
    ["chunked overflow", ["Transfer-Encoding: chunked"], "ffffffffffffffffffff\r\nabc\r\n0\r\n\r\n"],
    ["chunked unterminated", ["Transfer-Encoding: chunked"], "3\r\nabc\r\n"],
    ["chunked wrong size", ["Transfer-Encoding: chunked"], "10\r\nabc\r\n0\r\n\r\n"],
    ["chunked extension", ["Transfer-Encoding: chunked"], '3;x="y"\r\nabc\r\n0\r\n\r\n'],
    ["chunked trailers", ["Transfer-Encoding: chunked", "Trailer: X-T"], "3\r\nabc\r\n0\r\nX-T: 1\r\n\r\n"],
    ["chunked twice", ["Transfer-Encoding: chunked, chunked"], "3\r\nabc\r\n0\r\n\r\n"],
    ["gzip encoding", ["Transfer-Encoding: gzip"], "abc"],
    ["identity encoding", ["Transfer-Encoding: identity"], "abc"],
    ["pipelined garbage", ["Content-Length: 1"], "xGARBAGE / HTTP/9.9\r\n\r\n"],
    ["pipelined request", ["Content-Length: 1"], `x${rawRequest("GET", "/hello")}`],
    ["pipelined traversal", ["Content-Length: 1"], `x${rawRequest("PUT", `/../${MARK}`, [], "x")}`],
  ];
  for (const [name, headers, body] of bodyCases) {
    for (const method of ["PUT", "PATCH", "DELETE", "GET"])
      add(`${method} body ${name}`, rawRequest(method, `/body-${method}`, headers, body), false);
  }
  add("empty request", "", false);
  add("only CRLF", "\r\n\r\n\r\n", false);
  add("http/0.9", "GET /hello\r\n", false);
  add("http/1.0", "GET /hello HTTP/1.0\r\n\r\n");
  add("http/2 preface", "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", false);
  add("http/9.9", "GET /hello HTTP/9.9\r\n\r\n", false);
  add("tls hello", Buffer.from([0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x00, 0x00, 0xa1, 0x03, 0x03]), false);
  add("binary", Buffer.from(Array.from({ length: 512 }, (_, i) => (i * 37) % 256)), false);
  add("lf only", "GET /hello HTTP/1.1\nHost: x\n\n", false);
  add("request after an error", `${rawRequest("GET", "/%zz")}${rawRequest("GET", "/hello")}`);
  add("request after a 405", `${rawRequest("TRACE", "/hello")}${rawRequest("GET", "/hello")}`);
  add("request after a 404", `${rawRequest("GET", "/missing")}${rawRequest("GET", "/hello")}`);
  return cases;
}

/** Listing parameters; run against a store of short keys only (see GLOBS). */
export function buildGlobCorpus(): Case[] {
  const cases: Case[] = [];
  const add = (name: string, data: string, answered = true) => cases.push({ name, data, answered });
  for (const glob of GLOBS) {
    add(`glob ${glob.slice(0, 40)}`, rawRequest("GET", `/?glob=${enc(glob)}`));
    add(`glob in folder ${glob.slice(0, 40)}`, rawRequest("GET", `/a/?glob=${enc(glob)}&exclude_prefix=b`));
    add(`glob raw ${glob.slice(0, 40)}`, rawRequest("GET", `/?glob=${glob}`), false);
  }
  for (const prefix of PREFIXES) {
    add(`exclude_prefix ${prefix.slice(0, 20)}`, rawRequest("GET", `/?exclude_prefix=${enc(prefix)}`));
    add(`prefix ${prefix.slice(0, 20)}`, rawRequest("HEAD", `/?prefix=${enc(prefix)}&glob=*`));
  }
  return cases;
}
