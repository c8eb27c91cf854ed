/** Contract cases: keys, values and list with prefix, excludePrefix and glob (SPEC 5). */
import { describe, expect, it } from "vitest";
import type { Store } from "../../src/index.common.js";
import type { Suite } from "./contract.js";
import { collectKeys, rejectsWith } from "./contract.js";

const TREE = ["d/x.json", "d/y/z.txt", "d/y/w.json", "dx", "e.json", "f/g/h/i.csv", "x"];

async function seed(store: Store): Promise<void> {
  await store.putMany(TREE.map((key) => [key, { key }]));
}

export function listing({ store: make }: Suite): void {
  describe("listing", () => {
    it("lists every key, relative to the store, never folders", async () => {
      const store = await make();
      await seed(store);
      expect(await collectKeys(store.keys())).toEqual([...TREE].sort());
    });

    it("prefix is a path prefix: d lists d/..., not dx, and not d itself", async () => {
      const store = await make();
      await seed(store);
      expect(await collectKeys(store.keys({ prefix: "d" }))).toEqual(["d/x.json", "d/y/w.json", "d/y/z.txt"]);
      expect(await collectKeys(store.keys({ prefix: "d/" }))).toEqual(["d/x.json", "d/y/w.json", "d/y/z.txt"]);
      expect(await collectKeys(store.keys({ prefix: "d/y" }))).toEqual(["d/y/w.json", "d/y/z.txt"]);
      expect(await collectKeys(store.keys({ prefix: "x" }))).toEqual([]);
      expect(await collectKeys(store.keys({ prefix: "nothing/here" }))).toEqual([]);
    });

    it("excludePrefix is a plain string prefix", async () => {
      const store = await make();
      await seed(store);
      expect(await collectKeys(store.keys({ excludePrefix: "d" }))).toEqual(["e.json", "f/g/h/i.csv", "x"]);
      expect(await collectKeys(store.keys({ excludePrefix: "d/y" }))).toEqual(
        TREE.filter((k) => !k.startsWith("d/y")).sort(),
      );
    });

    it("glob: * is one segment, ** any depth (also top level), ?, [...] and {a,b}", async () => {
      const store = await make();
      await seed(store);
      const glob = (pattern: string, prefix?: string) => collectKeys(store.keys({ glob: pattern, prefix }));
      expect(await glob("*")).toEqual(["dx", "e.json", "x"]);
      expect(await glob("**/*.json")).toEqual(["d/x.json", "d/y/w.json", "e.json"]);
      expect(await glob("**/x")).toEqual(["x"]);
      expect(await glob("d/?/*")).toEqual(["d/y/w.json", "d/y/z.txt"]);
      expect(await glob("[de]*")).toEqual(["dx", "e.json"]);
      expect(await glob("**/*.{txt,csv}")).toEqual(["d/y/z.txt", "f/g/h/i.csv"]);
      expect(await glob("*", "d")).toEqual(["d/x.json"]);
      expect(await glob("y/*.json", "d")).toEqual(["d/y/w.json"]);
    });

    it("prefix, excludePrefix and glob combine", async () => {
      const store = await make();
      await seed(store);
      expect(await collectKeys(store.keys({ prefix: "d", excludePrefix: "d/y", glob: "**" }))).toEqual(["d/x.json"]);
    });

    it("values and list follow the same options", async () => {
      const store = await make();
      await seed(store);
      const values: unknown[] = [];
      for await (const value of store.values({ prefix: "d/y" })) values.push(value);
      expect(values.map((v) => (v as { key: string }).key).sort()).toEqual(["d/y/w.json", "d/y/z.txt"]);
      const infos = [];
      for await (const info of store.list({ glob: "**/*.csv" })) infos.push(info);
      expect(infos).toHaveLength(1);
      expect(infos[0]).toMatchObject({ key: "f/g/h/i.csv", name: "i.csv", contentType: "text/csv" });
      expect(infos[0]!.size).toBeGreaterThan(0);
    });

    it("lists many keys across pages, and a listing can stop early", async () => {
      const store = await make();
      const keys = Array.from({ length: 1200 }, (_, i) => `many/${String(i).padStart(4, "0")}`);
      await store.putMany(keys.map((key) => [key, 1]));
      expect(await collectKeys(store.keys({ prefix: "many" }))).toEqual(keys);
      let seen = 0;
      for await (const key of store.keys()) {
        expect(key.startsWith("many/")).toBe(true);
        if (++seen === 5) break;
      }
      expect(seen).toBe(5);
    });

    it("deleted keys disappear from listings", async () => {
      const store = await make();
      await seed(store);
      await store.delete("d/y/z.txt");
      await store.delete("d/y/w.json");
      expect(await collectKeys(store.keys({ prefix: "d" }))).toEqual(["d/x.json"]);
    });

    it("rejects an invalid prefix", async () => {
      const store = await make();
      await rejectsWith(async () => {
        for await (const key of store.keys({ prefix: "../up" })) void key;
      }, "INVALID_KEY");
      await rejectsWith(async () => {
        for await (const key of store.keys({ prefix: "d\uD800" })) void key;
      }, "INVALID_KEY");
    });
  });
}
