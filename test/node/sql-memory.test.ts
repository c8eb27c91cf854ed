/**
 * Memory for a large SQL value, measured in a process of its own (peak RSS above the RSS before
 * the read). Loose bounds: they catch a value held many times over, not a few MiB of garbage.
 */
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { STAGED_CHUNK } from "../../src/drivers/node/sql/staged-write.js";
import { createStore } from "../../src/index.node.js";
import { startWorker } from "./processes.js";

const PG_URL = process.env.PG_URL ?? "postgresql://postgres@127.0.0.1:5432/test";
const MiB = 1024 * 1024;
const table = `anystore_memory_${process.pid}`;

afterAll(async () => {
  const pool = new pg.Pool({ connectionString: PG_URL, max: 1 });
  await pool.query(`DROP TABLE IF EXISTS "${table}"`);
  await pool.query(`DROP TABLE IF EXISTS "${table}_abort"`);
  await pool.end();
});

describe("sql driver: memory for a large value", () => {
  it("postgresql: get of a 64 MiB value adds well under 4 times its size (it is read in chunks, not as one hex string)", async () => {
    const size = 64 * MiB;
    const worker = startWorker(["memory", PG_URL, table, 0, size]);
    const { code, stderr } = await worker.exited;
    expect(code, stderr).toBe(0);
    const { extra } = JSON.parse(worker.lines.at(-1)!) as { extra: number };
    expect(extra).toBeLessThan(4 * size);
  }, 120_000);

  it("postgresql: a 256 MiB streamed put adds well under 128 MiB (chunks are staged server-side, not gathered)", async () => {
    const size = 256 * MiB;
    const worker = startWorker(["stream-memory", PG_URL, table, 0, size]);
    const { code, stderr } = await worker.exited;
    expect(code, stderr).toBe(0);
    const { extra } = JSON.parse(worker.lines.at(-1)!) as { extra: number };
    expect(extra).toBeLessThan(128 * MiB);
  }, 180_000);

  it("postgresql: a streamed write that fails midway leaves the old value and no staged chunk on any connection", async () => {
    // A pool of two that the test owns: afterwards both of its connections are looked at.
    const pool = new pg.Pool({ connectionString: PG_URL, max: 2 });
    const store = createStore({ uri: PG_URL, client: pool, table: `${table}_abort`, serialization: "raw" } as never);
    try {
      const old = new Uint8Array([1, 2, 3]);
      await store.put("k", old);
      let sent = 0;
      const failing = new ReadableStream<Uint8Array>({
        pull(controller) {
          // Three staged chunks reach the server before the source fails.
          if (sent++ < 3) controller.enqueue(new Uint8Array(STAGED_CHUNK).fill(9));
          else controller.error(new Error("source broke"));
        },
      });
      await expect(store.put("k", failing)).rejects.toThrow();
      expect(await store.get("k")).toEqual(old);
      // An aborted writer from open(): the same.
      const writer = (await store.open("k", "w")).getWriter();
      await writer.write(new Uint8Array(2 * STAGED_CHUNK + 5));
      await writer.abort(new Error("stop"));
      expect(await store.get("k")).toEqual(old);
      // Both connections come back (a write that kept its transaction would hold one forever).
      const clients = [await pool.connect(), await pool.connect()];
      for (const client of clients) {
        const { rows } = await client.query(
          "SELECT CASE WHEN to_regclass('pg_temp.anystore_staged') IS NULL THEN 0 ELSE 1 END AS staged",
        );
        if (rows[0].staged === 1) {
          const count = await client.query("SELECT count(*)::int AS n FROM pg_temp.anystore_staged");
          expect(count.rows[0].n).toBe(0);
        }
      }
      for (const client of clients) client.release();
      // A streamed write that completes replaces the value, past several chunks.
      const value = new Uint8Array(2 * STAGED_CHUNK + 7).map((_, i) => i % 251);
      await store.put("k", new Blob([value]).stream());
      expect(Buffer.from((await store.get("k")) as Uint8Array).equals(value)).toBe(true);
    } finally {
      await store.close();
      await pool.end();
    }
  }, 60_000);
});
