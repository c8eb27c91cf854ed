/**
 * Creates racing across processes (issue 11): 100 `put(key, value, { ifNotExists: true })`
 * racers in 4 processes (race-child.ts) on one fresh key give exactly one winner, the others
 * `AlreadyExistsError`, the winner's bytes stored and nothing left behind, with bytes and with
 * streamed bodies. Each backend directly, where its capability says creates are atomic, and
 * through `anystore+http` to one `serve()` over it, which makes any store's creates atomic for
 * every client of the server.
 */

import type { ChildProcessByStdio } from "node:child_process";
import { spawn } from "node:child_process";
import { once } from "node:events";
import { mkdirSync, readdirSync, rmSync } from "node:fs";
import { join, resolve } from "node:path";
import { createInterface } from "node:readline";
import type { Readable, Writable } from "node:stream";
import { AwsClient } from "aws4fetch";
import { Redis } from "ioredis";
import mysql from "mysql2/promise";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Store, StoreOptions } from "../../src/index.node.js";
import { createStore, serve } from "../../src/index.node.js";
import { collectKeys } from "../shared/contract.js";
import type { Kind } from "./race-child.js";
import { racerValue } from "./race-child.js";
import type { S3rverProcess } from "./s3rver.js";
import { startS3rver } from "./s3rver.js";
import { TMP } from "./tmp.js";

const PROCESSES = 4;
const RACERS = 100;
const KINDS: Kind[] = ["bytes", "stream"];
const RUN = `anystore-races-${process.pid}-${Date.now().toString(36)}`;
const SCRATCH = join(TMP, RUN);
const PG_URL = process.env.PG_URL ?? "postgresql://postgres@127.0.0.1:5432/test";
const MYSQL_URL = process.env.MYSQL_URL ?? "mysql://root@127.0.0.1:3306/test";
const REDIS_DB = 11;
const S3_CREDENTIALS = { accessKeyId: "S3RVER", secretAccessKey: "S3RVER" };
let counter = 0;

/** One racer process: a JSON command per line in, a JSON answer per line out. */
class RacerProcess {
  readonly #child: ChildProcessByStdio<Writable, Readable, null>;
  readonly #answers: AsyncIterator<string>;

  constructor() {
    const root = resolve(import.meta.dirname, "../..");
    this.#child = spawn(process.execPath, ["--import", "tsx", join(import.meta.dirname, "race-child.ts")], {
      cwd: root,
      stdio: ["pipe", "pipe", "inherit"],
    });
    this.#answers = createInterface({ input: this.#child.stdout })[Symbol.asyncIterator]();
  }

  async ask<T>(command: object): Promise<T> {
    this.#child.stdin.write(`${JSON.stringify(command)}\n`);
    const { value, done } = await this.#answers.next();
    if (done) throw new Error(`a racer process exited (code ${this.#child.exitCode})`);
    const answer = JSON.parse(value) as T & { error?: string };
    if (answer.error !== undefined) throw new Error(`in a racer process: ${answer.error}`);
    return answer;
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode !== null || this.#child.signalCode !== null) return;
    const exited = once(this.#child, "exit");
    this.#child.stdin.end();
    const timer = setTimeout(() => this.#child.kill("SIGKILL"), 10_000);
    await exited;
    clearTimeout(timer);
  }
}

let racers: RacerProcess[] = [];
let pgPool: pg.Pool | undefined;
let myPool: mysql.Pool | undefined;
let redis: Redis | undefined;
let s3rver: S3rverProcess | undefined;
const opened: Store[] = [];
const servers: Array<{ close(): Promise<void> }> = [];
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  mkdirSync(SCRATCH, { recursive: true });
  racers = Array.from({ length: PROCESSES }, () => new RacerProcess());
  redis = new Redis({ db: REDIS_DB, lazyConnect: true });
});

afterAll(async () => {
  await Promise.all(racers.map((r) => r.stop()));
  await Promise.all(servers.map((s) => s.close()));
  await Promise.all(opened.map((s) => s.close()));
  for (const cleanup of cleanups) await cleanup().catch(() => {});
  await dropRedisKeys().catch(() => {});
  redis?.disconnect();
  await pgPool?.end();
  await myPool?.end();
  await s3rver?.stop();
  rmSync(SCRATCH, { recursive: true, force: true });
}, 60_000);

/** Every Redis key matching `pattern` (SCAN, never KEYS). */
async function scanAll(pattern: string): Promise<string[]> {
  const found: string[] = [];
  let cursor = "0";
  do {
    const [next, keys] = await redis!.scan(cursor, "MATCH", pattern, "COUNT", 1000);
    cursor = next;
    found.push(...keys);
  } while (cursor !== "0");
  return found;
}

/** Deletes this run's Redis keys. */
async function dropRedisKeys(): Promise<void> {
  const keys = await scanAll(`*${RUN}/*`);
  if (keys.length > 0) await redis!.del(keys);
}

/** Every racer process puts `key` once per id, all at once after all are ready; resolves to the outcomes by racer id. */
async function race(uri: string, options: StoreOptions | undefined, key: string, kind: Kind): Promise<string[]> {
  const share = RACERS / PROCESSES;
  await Promise.all(
    racers.map((r, p) =>
      r.ask({ op: "prepare", uri, options, key, kind, ids: Array.from({ length: share }, (_, i) => p * share + i) }),
    ),
  );
  const answers = await Promise.all(racers.map((r) => r.ask<{ outcomes: string[] }>({ op: "go" })));
  return answers.flatMap((a) => a.outcomes);
}

/** Exactly one "won", every other racer ALREADY_EXISTS; returns the winner's id. */
function oneWinner(outcomes: string[]): number {
  expect(outcomes).toHaveLength(RACERS);
  expect(
    outcomes.filter((o) => o !== "won" && o !== "ALREADY_EXISTS"),
    "every loser gets AlreadyExistsError",
  ).toEqual([]);
  const winners = outcomes.flatMap((o, i) => (o === "won" ? [i] : []));
  expect(winners, "exactly one winner").toHaveLength(1);
  return winners[0]!;
}

interface Target {
  name: string;
  /** A fresh, empty store of this backend, as a uri and options any process can open. */
  make(): Promise<{ uri: string; options?: StoreOptions }>;
  /** Asserts that refused creates left no temporary data in the backend. */
  noLeftovers?(uri: string): Promise<void>;
}

function files(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: "utf8" });
}

const table = () => `anystore_race${process.pid}_${++counter}`;

const targets: Target[] = [
  {
    name: "fs",
    async make() {
      return { uri: join(SCRATCH, `fs-${++counter}`) };
    },
    async noLeftovers(dir) {
      expect(files(dir).filter((name) => name.includes(".anystore-tmp"))).toEqual([]);
    },
  },
  {
    name: "sqlite file",
    async make() {
      return { uri: `sqlite:///${join(SCRATCH, `sqlite-${++counter}.db`)}` };
    },
  },
  {
    name: "postgresql",
    async make() {
      const name = table();
      pgPool ??= new pg.Pool({ connectionString: PG_URL, max: 1 });
      const pool = pgPool;
      cleanups.push(async () => void (await pool.query(`DROP TABLE IF EXISTS "${name}"`)));
      return { uri: PG_URL, options: { table: name } };
    },
  },
  {
    name: "mariadb",
    async make() {
      const name = table();
      myPool ??= mysql.createPool({ uri: MYSQL_URL, connectionLimit: 1 });
      const pool = myPool;
      cleanups.push(async () => void (await pool.query(`DROP TABLE IF EXISTS \`${name}\``)));
      return { uri: MYSQL_URL, options: { table: name } };
    },
  },
  {
    name: "redis",
    async make() {
      return { uri: `redis://127.0.0.1:6379/${REDIS_DB}/${RUN}/${++counter}` };
    },
    async noLeftovers() {
      // Streamed writes go through temporary keys `.anystore/w/...{key}`: none may remain.
      expect(await scanAll(`.anystore/w/*{${RUN}/*`)).toEqual([]);
    },
  },
  // Without conditional writes (the default for a custom endpoint) the capability says emulated.
  { name: "s3 (s3rver)", make: () => s3Bucket({}) },
  // s3rver-server.mjs answers If-None-Match: * as S3 does.
  { name: "s3 (s3rver, conditional writes)", make: () => s3Bucket({ conditionalWrites: true }) },
];

/** A fresh bucket on this file's s3rver (started on first need). */
async function s3Bucket(options: StoreOptions): Promise<{ uri: string; options: StoreOptions }> {
  s3rver ??= await startS3rver(join(SCRATCH, "s3rver"));
  const bucket = `race${process.pid}-${++counter}`;
  const client = new AwsClient({ ...S3_CREDENTIALS, service: "s3", region: "us-east-1", retries: 0 });
  const response = await client.fetch(`${s3rver.endpoint}/${bucket}`, { method: "PUT" });
  expect(response.status).toBe(200);
  return { uri: `s3://${bucket}/races`, options: { endpoint: s3rver.endpoint, ...S3_CREDENTIALS, ...options } };
}

/** Races every kind on fresh keys of `uri` (prefix `via`), checking each against `store`, the backend opened here. */
async function raceEveryKind(via: string, uri: string, options: StoreOptions | undefined, store: Store): Promise<void> {
  for (const kind of KINDS) {
    const key = `${via}-${kind}`;
    const winner = oneWinner(await race(uri, options, key, kind));
    expect(await store.get(key, { serialization: "raw" })).toEqual(racerValue(winner));
  }
}

for (const target of targets) {
  describe(target.name, () => {
    it(`${RACERS} creates in ${PROCESSES} processes, directly: one winner (bytes, streams)`, {
      timeout: 120_000,
    }, async (ctx) => {
      const { uri, options } = await target.make();
      const store = createStore(uri, options);
      opened.push(store);
      if (!(await store.capabilities()).ifNotExists)
        ctx.skip(`${target.name} declares ifNotExists false: emulated, not atomic across processes`);
      await raceEveryKind("direct", uri, options, store);
      expect(await collectKeys(store.keys())).toEqual(KINDS.map((kind) => `direct-${kind}`));
      await target.noLeftovers?.(uri);
    });

    it(`${RACERS} creates in ${PROCESSES} processes through anystore+http to serve() over it: one winner (bytes, streams)`, {
      timeout: 120_000,
    }, async () => {
      const { uri, options } = await target.make();
      const store = createStore(uri, options);
      opened.push(store);
      const server = await serve(store);
      servers.push(server);
      await raceEveryKind("http", `anystore+${server.url}`, undefined, store);
      expect(await collectKeys(store.keys())).toEqual(KINDS.map((kind) => `http-${kind}`));
      await target.noLeftovers?.(uri);
    });
  });
}

describe("memory", () => {
  it(`${RACERS} creates in ${PROCESSES} processes through anystore+http to serve() over it: one winner (bytes, streams)`, {
    timeout: 120_000,
  }, async () => {
    const store = createStore("memory://");
    opened.push(store);
    const server = await serve(store);
    servers.push(server);
    await raceEveryKind("http", `anystore+${server.url}`, undefined, store);
  });
});
