/** Contract cases: values, serialization, keys, errors, ttl, readonly, batches, child stores. */
import { describe, expect, it } from "vitest";
import { isAnystoreError } from "../../src/index.common.js";
import type { Suite } from "./contract.js";
import { bytes, collectKeys, rejectsWith, sleep, text, utf8 } from "./contract.js";

const INVALID_KEYS = [
  "",
  ".",
  "./",
  "/",
  "/x",
  "a/../b",
  "..",
  "../x",
  "s3://bucket/x",
  "http://x",
  "a\0b",
  "a\\b",
  ".anystore",
  "a/.anystore/b",
  ".anystore-tmp",
  "a/.anystorefoo",
  "\uD800k",
  "a/k\uDBFF",
  "\uDC00\uD800",
];

export function basics({ store: make, need }: Suite): void {
  describe("values and serialization", () => {
    it("round-trips JSON values in auto mode", async () => {
      const store = await make();
      const values: unknown[] = [
        { a: 1, b: [true, null, "x"] },
        [1, 2, 3],
        42,
        3.5,
        true,
        false,
        null,
        "hello",
        "",
        "ünïcödé ✓",
      ];
      for (const [i, value] of values.entries()) {
        await store.put(`v${i}`, value);
        expect(await store.get(`v${i}`)).toEqual(value);
      }
    });

    it("auto mode reads back text that parses as JSON as the parsed value", async () => {
      const store = await make();
      await store.put("k", "123");
      expect(await store.get("k")).toBe(123);
      await store.put("t", "true");
      expect(await store.get("t")).toBe(true);
    });

    it("json mode keeps strings exact", async () => {
      const store = await make({ serialization: "json" });
      await store.put("k", "123");
      expect(await store.get("k")).toBe("123");
      await store.put("o", { a: [1] });
      expect(await store.get("o")).toEqual({ a: [1] });
    });

    it("bytes: invalid UTF-8 comes back as Uint8Array, valid UTF-8 as text, raw mode always bytes", async () => {
      const store = await make();
      await store.put("bin", bytes(255, 0, 1, 254));
      expect(await store.get("bin")).toEqual(bytes(255, 0, 1, 254));
      await store.put("txt", utf8("plain text"));
      expect(await store.get("txt")).toBe("plain text");
      expect(await store.get("txt", { serialization: "raw" })).toEqual(utf8("plain text"));
      await store.put("ab", new Uint8Array([1, 2, 3, 250]).buffer);
      expect(await store.get("ab", { serialization: "raw" })).toEqual(bytes(1, 2, 3, 250));
    });

    it("stored bytes are a copy: mutating the input later changes nothing", async () => {
      const store = await make();
      const input = bytes(200, 201, 202);
      await store.put("copy", input);
      input[0] = 0;
      expect(await store.get("copy", { serialization: "raw" })).toEqual(bytes(200, 201, 202));
    });

    it("raw mode stores strings as UTF-8 and refuses numbers and objects", async () => {
      const store = await make({ serialization: "raw" });
      await store.put("s", "abc");
      expect(await store.get("s")).toEqual(utf8("abc"));
      await rejectsWith(store.put("n", 5), "SERIALIZATION");
      await rejectsWith(store.put("o", { a: 1 }), "SERIALIZATION");
      expect(await store.exists("n")).toBe(false);
    });

    it("Dates become ISO strings and undefined becomes null", async () => {
      const store = await make();
      const date = new Date("2026-01-02T03:04:05.678Z");
      await store.put("d", { date });
      expect(await store.get("d")).toEqual({ date: "2026-01-02T03:04:05.678Z" });
      await store.put("u", undefined);
      expect(await store.get("u")).toBeNull();
    });

    it("unserializable values throw SerializationError and write nothing", async () => {
      const store = await make();
      const cycle: Record<string, unknown> = {};
      cycle.self = cycle;
      await rejectsWith(store.put("cycle", cycle), "SERIALIZATION");
      await rejectsWith(store.put("big", 10n), "SERIALIZATION");
      expect(await store.exists("cycle")).toBe(false);
      expect(await store.exists("big")).toBe(false);
    });

    it("custom serialize/deserialize functions", async () => {
      const store = await make({
        serialize: (value: unknown) => `<${String(value)}>`,
        deserialize: (raw: Uint8Array) => new TextDecoder().decode(raw).slice(1, -1),
      });
      await store.put("c", "inner");
      expect(await text(await store.open("c"))).toBe("<inner>");
      expect(await store.get("c")).toBe("inner");
    });

    it("empty values and overwrites", async () => {
      const store = await make();
      await store.put("e", new Uint8Array(0));
      expect(await store.get("e", { serialization: "raw" })).toEqual(new Uint8Array(0));
      expect((await store.info("e")).size).toBe(0);
      await store.put("o", "first");
      await store.put("o", "second");
      expect(await store.get("o")).toBe("second");
    });

    it("storeNullValues: false writes nothing for null and undefined", async () => {
      const store = await make({ storeNullValues: false });
      await store.put("n", null);
      await store.put("u", undefined);
      expect(await store.exists("n")).toBe(false);
      expect(await store.exists("u")).toBe(false);
    });

    it("rejects unknown serialization modes", async () => {
      const store = await make();
      await rejectsWith(store.put("x", 1, { serialization: "yaml" as never }), "INVALID_ARGUMENT");
    });
  });

  describe("missing keys", () => {
    it("get throws NotFoundError with key and store, or returns the default", async () => {
      const store = await make();
      const error = (await rejectsWith(store.get("nope"), "NOT_FOUND")) as { key: string; store: string; name: string };
      expect(error.key).toBe("nope");
      expect(error.store).toBe(store.uri);
      expect(error.name).toBe("NotFoundError");
      expect(await store.get("nope", { default: "fallback" })).toBe("fallback");
      expect(await store.get("nope", { throwOnMissing: false })).toBeNull();
    });

    it("throwOnMissing: false on the store returns null", async () => {
      const store = await make({ throwOnMissing: false });
      expect(await store.get("nope")).toBeNull();
      expect(await store.pop("nope")).toBeNull();
    });

    it("pop gets then deletes; delete is idempotent; exists tells", async () => {
      const store = await make();
      await store.put("p", { v: 1 });
      expect(await store.exists("p")).toBe(true);
      expect(await store.pop("p")).toEqual({ v: 1 });
      expect(await store.exists("p")).toBe(false);
      await rejectsWith(store.pop("p"), "NOT_FOUND");
      await store.delete("p");
      await store.delete("never-there/x");
    });

    it("info, open and checksum of a missing key throw NotFoundError", async () => {
      const store = await make();
      await rejectsWith(store.info("nope"), "NOT_FOUND");
      await rejectsWith(store.open("nope"), "NOT_FOUND");
      await rejectsWith(store.checksum("nope"), "NOT_FOUND");
    });
  });

  describe("keys", () => {
    it("rejects invalid keys with InvalidKeyError and touches nothing", async () => {
      const store = await make();
      for (const key of INVALID_KEYS) {
        await rejectsWith(store.put(key, "x"), "INVALID_KEY");
        await rejectsWith(store.get(key), "INVALID_KEY");
        await rejectsWith(store.exists(key), "INVALID_KEY");
        await rejectsWith(store.delete(key), "INVALID_KEY");
        await rejectsWith(store.open(key, "w"), "INVALID_KEY");
      }
      await rejectsWith(store.put(42 as never, "x"), "INVALID_KEY");
      expect(await collectKeys(store.keys())).toEqual([]);
    });

    it("rejects keys that are not well-formed Unicode: a lone surrogate never reaches U+FFFD's key", async () => {
      const store = await make();
      await store.put("\uFFFDk", "replacement character");
      await rejectsWith(store.put("\uD800k", "lone surrogate"), "INVALID_KEY");
      await rejectsWith(store.delete("\uD800k"), "INVALID_KEY");
      expect(await store.get("\uFFFDk")).toBe("replacement character");
      expect(await collectKeys(store.keys())).toEqual(["\uFFFDk"]);
    });

    it("normalizes a/./b, a//b, ./a and a/ to one key", async () => {
      const store = await make();
      await store.put("a/./b", 1);
      expect(await store.get("a/b")).toBe(1);
      expect(await store.get("a//b")).toBe(1);
      await store.put("./c/", 2);
      expect(await store.get("c")).toBe(2);
      expect(await collectKeys(store.keys())).toEqual(["a/b", "c"]);
    });

    it("takes other colons, spaces, dots and unicode literally", async () => {
      const store = await make();
      const keys = ["a:b", "with space/f.txt", ".hidden", "ünï/файл 1.json", "percent%20kept", "x/y.tar.gz"];
      for (const key of keys) await store.put(key, key);
      for (const key of keys) expect(await store.get(key)).toBe(key);
      expect(await collectKeys(store.keys())).toEqual([...keys].sort());
    });

    it("key/folder clashes are ConflictError on path-based drivers", async (ctx) => {
      const store = await make();
      await need(ctx, store, "paths");
      await store.put("a", 1);
      await rejectsWith(store.put("a/b", 2), "CONFLICT");
      await store.put("c/d", 3);
      await rejectsWith(store.put("c", 4), "CONFLICT");
      expect(await store.get("a")).toBe(1);
      expect(await store.get("c/d")).toBe(3);
    });

    it("a key and a folder of the same name coexist on other drivers", async (ctx) => {
      const store = await make();
      if ((await store.capabilities()).paths) ctx.skip("path-based driver");
      await store.put("a", 1);
      await store.put("a/b", 2);
      expect(await store.get("a")).toBe(1);
      expect(await store.get("a/b")).toBe(2);
    });
  });

  describe("info, checksum, touch", () => {
    it("info reports size, names, uris, times and a content type", async (ctx) => {
      const store = await make();
      await store.put("docs/readme.txt", "hello");
      const info = await store.info("docs/readme.txt");
      expect(info).toMatchObject({
        key: "docs/readme.txt",
        name: "readme.txt",
        size: 5,
        contentType: "text/plain",
        store: store.uri,
      });
      expect(info.uri).toBe(`${store.uri.replace(/\/+$/, "")}/docs/readme.txt`);
      // null only where the backend keeps no time at all (a driver without `info`)
      if (info.updatedAt !== null) expect(Math.abs(info.updatedAt.getTime() - Date.now())).toBeLessThan(60_000);
      await store.put("blob.bin", bytes(1, 2, 3));
      expect((await store.info("blob.bin")).contentType).toBe("application/octet-stream");
      await store.put("data.json", { a: 1 });
      expect((await store.info("data.json")).contentType).toBe("application/json");
      await need(ctx, store, "createdAt");
      expect(info.createdAt).toBeInstanceOf(Date);
    });

    it("checksum streams sha256 (default), sha1, md5, sha512 as hex", async () => {
      const store = await make();
      await store.put("h.txt", "hello");
      expect(await store.checksum("h.txt")).toBe("2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
      expect(await store.checksum("h.txt", "sha1")).toBe("aaf4c61ddcc5e8a2dabede0f3b482cd9aea9434d");
      expect(await store.checksum("h.txt", "md5")).toBe("5d41402abc4b2a76b9719d911017c592");
      expect(await store.checksum("h.txt", "sha512")).toMatch(/^9b71d224bd62f378[0-9a-f]{112}$/);
      await rejectsWith(store.checksum("h.txt", "crc32" as never), "INVALID_ARGUMENT");
    });

    it("touch stores the current time and returns it", async () => {
      const store = await make();
      const before = Date.now();
      const date = await store.touch("stamp");
      expect(date.getTime()).toBeGreaterThanOrEqual(before);
      expect(await store.get("stamp")).toBe(date.toISOString());
      expect(await store.exists("stamp")).toBe(true);
    });
  });

  describe("ifNotExists", () => {
    it("throws AlreadyExistsError and changes nothing when the key exists", async () => {
      const store = await make();
      await store.put("once", "first", { ifNotExists: true });
      const error = await rejectsWith(store.put("once", "second", { ifNotExists: true }), "ALREADY_EXISTS");
      expect((error as { key: string }).key).toBe("once");
      expect(await store.get("once")).toBe("first");
    });

    it("also for streamed values", async () => {
      const store = await make();
      await store.put("s", "first");
      await rejectsWith(store.put("s", new Blob(["second"]), { ifNotExists: true }), "ALREADY_EXISTS");
      expect(await store.get("s")).toBe("first");
    });
  });

  describe("ttl", () => {
    it("expired keys are invisible to every read, and ifNotExists succeeds over them", async () => {
      const store = await make();
      await store.put("short", "gone soon", { ttl: 1 });
      await store.put("long", "stays", { ttl: 3600 });
      await store.put("forever", "stays");
      await store.put("unread", "gone soon", { ttl: 1 });
      await store.put("unread-streamed", "gone soon", { ttl: 1 });
      const stream = await store.open("streamed", "w", { ttl: 1 });
      const writer = stream.getWriter();
      await writer.write(utf8("streamed"));
      await writer.close();
      expect(await store.get("short")).toBe("gone soon");
      expect(await store.get("streamed")).toBe("streamed");
      await sleep(1500);
      // Not read since they expired: a create must not meet them (bytes, and a stream).
      await store.put("unread", "new", { ifNotExists: true });
      await store.put("unread-streamed", new Blob(["new"]), { ifNotExists: true });
      expect(await store.getMany(["unread", "unread-streamed"])).toEqual(
        new Map([
          ["unread", "new"],
          ["unread-streamed", "new"],
        ]),
      );
      for (const key of ["short", "streamed"]) {
        await rejectsWith(store.get(key), "NOT_FOUND");
        expect(await store.exists(key)).toBe(false);
        await rejectsWith(store.info(key), "NOT_FOUND");
        await rejectsWith(store.open(key), "NOT_FOUND");
        expect(await store.get(key, { default: "d" })).toBe("d");
      }
      expect((await store.getMany(["short", "long"])).has("short")).toBe(false);
      expect(await collectKeys(store.keys())).toEqual(["forever", "long", "unread", "unread-streamed"]);
      expect(await store.get("long")).toBe("stays");
      await store.put("short", "again", { ifNotExists: true });
      expect(await store.get("short")).toBe("again");
      expect(await store.sweep()).toBeGreaterThanOrEqual(0);
    });

    it("defaultTtl applies to puts without their own ttl; ttl 0 means never", async () => {
      const store = await make({ defaultTtl: 1 });
      await store.put("d", 1);
      await store.put("keep", 2, { ttl: 0 });
      await store.putMany([["m", 3]]);
      await sleep(1500);
      expect(await store.exists("d")).toBe(false);
      expect(await store.exists("m")).toBe(false);
      expect(await store.get("keep")).toBe(2);
    });

    it("a put without ttl over a key that had one keeps it forever", async () => {
      const store = await make();
      await store.put("k", "old", { ttl: 1 });
      await store.put("k", "new");
      await sleep(1500);
      expect(await store.get("k")).toBe("new");
      expect(await collectKeys(store.keys())).toEqual(["k"]);
    });

    it("rejects negative or non-numeric ttl", async () => {
      const store = await make();
      await rejectsWith(store.put("k", 1, { ttl: -1 }), "INVALID_ARGUMENT");
      await rejectsWith(store.put("k", 1, { ttl: "5" as never }), "INVALID_ARGUMENT");
      expect(await store.exists("k")).toBe(false);
    });
  });

  describe("readonly", () => {
    it("refuses every write with ReadOnlyError, before reading, and changes nothing", async () => {
      const ro = await make({ readonly: true });
      const writes: Array<() => Promise<unknown>> = [
        () => ro.put("k", "x"),
        () => ro.pop("k"),
        () => ro.pop("missing"),
        () => ro.delete("k"),
        () => ro.touch("k"),
        () => ro.open("k", "w"),
        () => ro.putMany([["k", 1]]),
        () => ro.deleteMany(["k"]),
      ];
      for (const write of writes) await rejectsWith(write, "READ_ONLY");
      expect(await collectKeys(ro.keys())).toEqual([]);
    });
  });

  describe("batches", () => {
    it("getMany maps the keys as passed and leaves missing ones out", async () => {
      const store = await make();
      await store.putMany([
        ["a", 1],
        ["b/c", { x: true }],
      ]);
      const found = await store.getMany(["a", "./b/c", "missing"]);
      expect([...found.entries()]).toEqual([
        ["a", 1],
        ["./b/c", { x: true }],
      ]);
      await store.deleteMany(["a", "b/c", "missing"]);
      expect(await collectKeys(store.keys())).toEqual([]);
    });

    it("putMany and deleteMany check every key and value before writing anything", async () => {
      const store = await make();
      await rejectsWith(
        store.putMany([
          ["ok", 1],
          ["../bad", 2],
        ]),
        "INVALID_KEY",
      );
      await rejectsWith(
        store.putMany([
          ["ok", 1],
          ["big", 1n as never],
        ]),
        "SERIALIZATION",
      );
      expect(await store.exists("ok")).toBe(false);
      await store.put("keep", 1);
      await rejectsWith(store.deleteMany(["keep", "/abs"]), "INVALID_KEY");
      expect(await store.exists("keep")).toBe(true);
    });

    it("handles a few hundred entries", async () => {
      const store = await make();
      const entries: Array<[string, unknown]> = Array.from({ length: 300 }, (_, i) => [`batch/${i}`, { i }]);
      await store.putMany(entries);
      const found = await store.getMany(entries.map(([key]) => key));
      expect(found.size).toBe(300);
      expect(found.get("batch/299")).toEqual({ i: 299 });
    });
  });

  describe("child stores and prefixes", () => {
    it("child keys live under the prefix and list relative to it", async () => {
      const store = await make();
      const child = store.child("tenant/a");
      await child.put("x.json", { v: 1 });
      expect(await store.get("tenant/a/x.json")).toEqual({ v: 1 });
      expect(await collectKeys(child.keys())).toEqual(["x.json"]);
      expect((await child.info("x.json")).key).toBe("x.json");
      expect(child.uri).toBe(`${store.uri.replace(/\/+$/, "")}/tenant/a`);
      const grandchild = child.child("deep");
      await grandchild.put("y", 2);
      expect(await store.get("tenant/a/deep/y")).toBe(2);
      await child.close();
      expect(await store.get("tenant/a/x.json")).toEqual({ v: 1 });
    });

    it("the prefix option scopes every key", async () => {
      const store = await make({ prefix: "scoped" });
      await store.put("k", 1);
      expect(await collectKeys(store.keys())).toEqual(["k"]);
      expect(await store.get("k")).toBe(1);
    });
  });

  describe("errors and lifecycle", () => {
    it("errors are AnystoreErrors with name and code", async () => {
      const store = await make();
      try {
        await store.get("missing");
        expect.unreachable();
      } catch (error) {
        expect(error).toBeInstanceOf(Error);
        expect(isAnystoreError(error, "NOT_FOUND")).toBe(true);
        expect(isAnystoreError(error, "IO")).toBe(false);
      }
    });

    it("capabilities are declared; close can be awaited via asyncDispose", async () => {
      const store = await make();
      const caps = await store.capabilities();
      for (const name of ["write", "list", "ttl", "ifNotExists", "streams", "ranges", "batch", "paths", "createdAt"]) {
        expect(typeof caps[name as keyof typeof caps]).toBe("boolean");
      }
      await store.put("k", 1);
      expect(typeof store[Symbol.asyncDispose]).toBe("function");
    });

    it("rejects unknown open modes", async () => {
      const store = await make();
      await rejectsWith(store.open("k", "x" as never), "INVALID_ARGUMENT");
    });
  });
}
