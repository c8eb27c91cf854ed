/**
 * Memory for a large SQL value, measured in a process of its own (peak RSS above the RSS before
 * the read). Loose bounds: they catch a value held many times over, not a few MiB of garbage.
 */
import pg from "pg";
import { afterAll, describe, expect, it } from "vitest";
import { startWorker } from "./processes.js";

const PG_URL = process.env.PG_URL ?? "postgresql://postgres@127.0.0.1:5432/test";
const MiB = 1024 * 1024;
const table = `anystore_memory_${process.pid}`;

afterAll(async () => {
  const pool = new pg.Pool({ connectionString: PG_URL, max: 1 });
  await pool.query(`DROP TABLE IF EXISTS "${table}"`);
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
});
