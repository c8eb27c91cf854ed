/**
 * Why a figure is below 0.9x its raw client, shown in BENCHMARKS.md next to it. Keys are
 * "driver / workload" (driver ids: memory, fs, sqlite, postgres, mysql, redis, s3, zip, http,
 * indexeddb, opfs; workloads: the names in bench/lib.mjs `W`), "* / workload" for every driver,
 * or a driver id alone for all of its figures. Figures without an entry get a `<!-- notes -->`
 * placeholder (or the suite's own note for the row).
 */
export default {
  "* / mirror 10,000 x 1 KiB":
    '`mirror` lists the target once (to skip keys already there), reads each value from the source as a stream (so values of any size pass in bounded memory), and writes values that arrive in one chunk (up to 256 KiB) in batches of up to 1,000 with `putMany`; larger ones stream into `target.open(key, "w")`. The raw loop reads each 1 KiB file whole and writes it with one call. On the 2-core machine the figure moves a lot between runs.',
  "zip / mirror 10,000 x 1 KiB":
    "`mirror` writes small values in batches of 1,000 with `putMany`, so the archive's central directory is written once per batch (10 times for 10,000 keys) rather than once per key; fflate builds the archive once in memory with `zipSync` and writes it in one call, holding every value at once.",
  "s3 / putMany 1,000 x 1 KiB":
    "S3 has no batch put: anystore's batch fallback (src/core/driver/complete.ts, BATCH_CONCURRENCY) keeps 16 requests in flight; the raw loop keeps 32.",
  "s3 / getMany 1,000 x 1 KiB":
    "S3 has no batch get: anystore's batch fallback (src/core/driver/complete.ts, BATCH_CONCURRENCY) keeps 16 requests in flight; the raw loop keeps 32.",
  "http / putMany 1,000 x 1 KiB":
    "The HTTP protocol has no batch put: anystore's batch fallback (src/core/driver/complete.ts, BATCH_CONCURRENCY) keeps 16 requests in flight; the raw loop keeps 32.",
  "http / getMany 1,000 x 1 KiB":
    "The HTTP protocol has no batch get: anystore's batch fallback (src/core/driver/complete.ts, BATCH_CONCURRENCY) keeps 16 requests in flight; the raw loop keeps 32.",
  "s3 / stream 256 MiB in":
    "anystore uploads in parts (multipart, 8 MiB parts, 2 in flight), which resumes and goes past S3's 5 GiB single-PUT limit; s3rver stores every part and then copies them into the object on CompleteMultipartUpload (and hashes it again), so it writes the value twice. The raw baseline is one streamed PUT.",
  "s3 / put 1 KiB, sequential":
    "s3rver answers a few hundred requests per second here, so this row times ~150 puts in well under a second; across runs on this machine it ranged 0.58x-1.60x.",
  "fs / put 1 KiB, sequential":
    "anystore's put is atomic: it writes a temporary file in the key's directory and renames it over the key, so a reader never sees a partial value and a crash leaves the old one. The raw baseline overwrites the file in place with `writeFile`, which is not atomic. Against the same atomic write done raw (`writeFile(temp)` + `rename`, the next column) anystore is 1.0-1.1x.",
  "fs / put 1 KiB, 32 in flight":
    "anystore's put is atomic: it writes a temporary file in the key's directory and renames it over the key, so a reader never sees a partial value and a crash leaves the old one. The raw baseline overwrites the file in place with `writeFile`, which is not atomic. Against the same atomic write done raw (`writeFile(temp)` + `rename`, the next column) anystore is 1.0-1.1x.",
  "fs / putMany 1,000 x 1 KiB":
    "anystore's put is atomic: it writes a temporary file in the key's directory and renames it over the key, so a reader never sees a partial value and a crash leaves the old one. The raw baseline overwrites the file in place with `writeFile`, which is not atomic. Against the same atomic write done raw (`writeFile(temp)` + `rename`, the next column) anystore is 1.0-1.1x.",
  "sqlite / stream 256 MiB in":
    "On SQLite the SQL driver has no native streamed write: the store gathers the chunks and writes the value with one statement, since Python's table keeps a value in one row (appending to a blob in place would rewrite it per chunk).",
  "sqlite / stream 256 MiB out":
    "SQLite values are read with one statement (reading `substr` chunks made SQLite load the whole blob for every chunk: 10 MB/s), then handed out as a stream; the raw baseline keeps the row it read.",
  "sqlite / extra RSS, 256 MiB streamed":
    "The value passes whole through memory (see stream in): SQLite binds a blob parameter whole (libsql copies the bound bytes into its own buffer before the statement runs), so a write holds the gathered value and the client's copy; a read returns the blob as one buffer. Chunked writes would need a staging table joined server-side, which SQLite can only do by holding the joined value in its own memory as well.",
  "postgres / extra RSS, 256 MiB streamed":
    "A streamed write sends 4 MiB chunks into a temporary table on a connection of its own, in one transaction, and one `INSERT ... SELECT string_agg(chunk, '' ORDER BY n)` joins them into the row server-side: the client holds one chunk (a 256 MiB streamed put adds about 48 MiB, mostly `pg`'s hex text of each chunk awaiting collection). Reads come in 4 MiB `substring` statements; `pg` returns each as hex text, so a streamed read leaves 85-120 MiB of garbage before V8 collects it.",
  "mysql / extra RSS, 256 MiB streamed":
    "MariaDB's `max_allowed_packet` (16 MiB here by default) caps a row, so a 256 MiB value is refused with a typed error (UNSUPPORTED) naming the limit and how to raise it, as soon as the streamed value passes the limit (a bytes `put` is checked before it starts). Below the limit a streamed write is staged in 4 MiB chunks joined server-side (`GROUP_CONCAT ... ORDER BY n`), as on PostgreSQL: a 16 MB streamed put adds 33 MiB here, and a 256 MiB one on a server whose limit was raised adds 46 MiB (`npx tsx scripts/large-value-memory.ts 256 mariadb`); reads come in 4 MiB chunks.",
  "* / list a prefix among 100,000 keys":
    "Drivers hand the store pages of keys (SQL: `key > last ... ORDER BY key LIMIT 1001` per page); the store checks a page in one pass (prefix, exclude prefix, glob, reserved and unreadable names) and hands its keys out one resolved promise each, which a consumer's `for await` needs anyway; the raw baseline runs one query or SCAN loop and only counts.",
  "* / list all 100,000 keys":
    "Drivers hand the store pages of keys; the store checks a page in one pass (prefix, exclude prefix, glob, reserved and unreadable names) and hands its keys out one resolved promise each; the raw baseline lists and only counts.",
  "sqlite / list all 100,000 keys":
    "The whole table (the 100,000 listing keys and the 1,100 the earlier rows wrote), in pages of 1,000 (`key > last ORDER BY key LIMIT 1001`), the next page asked for while the store uses the last; the raw baseline is one SELECT of every key.",
  "postgres / list all 100,000 keys":
    "The whole table (the 100,000 listing keys and the 1,100 the earlier rows wrote), in pages of 1,000 (`key > last ORDER BY key LIMIT 1001`), the next page asked for while the store uses the last; the raw baseline is one SELECT of every key.",
  "mysql / list all 100,000 keys":
    "The whole table (the 100,000 listing keys and the 1,100 the earlier rows wrote), in pages of 1,000 (`key > last ORDER BY key LIMIT 1001`), the next page asked for while the store uses the last; the raw baseline is one SELECT of every key.",
  "redis / list all 100,000 keys":
    "anystore keeps a timestamp side key beside each value (Python's layout), so a SCAN of its db walks twice the keys of the raw client's db: against the same SCAN loop over anystore's db (the `raw ioredis, SCAN of anystore's db` column) the store's own cost is the rest (0.7x-0.8x across runs). The driver passes each SCAN reply to the store as one page.",
  "memory / list all 100,000 keys":
    "The floor of any async listing: a consumer's `for await` takes a microtask per key (about 50-150 ns on this machine), while the raw baseline is a synchronous walk of the Map's keys (a few ns per key). anystore is at that floor: compare the column `for await over the Map's keys` (about 0.85x of it; anystore also copies the matching keys into a snapshot and checks each name). With a prefix (1,000 of 100,000 keys) both walk the whole Map and anystore is near 1x.",
  "fs / delete 1 KiB, sequential":
    "A delete is one `unlink` plus, for a key in a folder, an `rmdir` of that folder, which fails at once while other keys remain: it is how the store learns the folder is empty and removes it, as Python's layout has no empty folders (a file system keeps no count of a folder's entries to read without a call). A top-level key costs the one `unlink`. The folder is pinned against symlink swaps with a `readlink` of /proc/self/fd, done synchronously (the kernel's table, no I/O).",
  "fs / list a prefix among 100,000 keys":
    "One `readdir` of the folder (the raw baseline's call), after pinning the folder against symlink swaps (a `readlink` of /proc/self/fd); then a page of 1,000 keys through the store (names checked, one resolved promise per key for the consumer's `for await`). The rate moved 0.39x-0.6x across runs on this loaded 2-core machine.",
  "sqlite / getMany 1,000 x 1 KiB":
    "getMany splits the keys into `IN (...)` statements of 500 and maps rows back to the keys as passed, decoding each value; run to run this row moved between 0.81x and 0.87x.",
  "postgres / getMany 1,000 x 1 KiB":
    "getMany splits the keys into `IN (...)` statements of 500, run at once on the pool, and maps rows back to the keys as passed; the previous full run measured 1.12x.",
  "postgres / get 1 KiB, 32 in flight":
    "Within run-to-run noise: the previous full run had this row above 0.9x (not listed there).",
  "mysql / put 1 KiB, sequential":
    "Each put is one upsert that waits for the server's commit (disk sync); sequential puts on this machine swing 0.5-2x from run to run for both clients. The previous full run had this row above 0.9x.",
  "redis / get 1 KiB, sequential":
    "Sequential round trips on loopback swing from round to round for every client here (~11,000 to ~23,000 ops/s on the 2-core machine); across runs anystore's sequential rows ranged 0.5-1.2x raw ioredis. With 32 in flight, where the jitter averages out, anystore is 1.2-1.8x.",
  "redis / put 1 KiB, sequential":
    "Sequential round trips on loopback swing from round to round for every client here (~11,000 to ~23,000 ops/s on the 2-core machine); across runs anystore's sequential rows ranged 0.5-1.2x raw ioredis. With 32 in flight, where the jitter averages out, anystore is 1.2-1.8x.",
  "redis / putMany 1,000 x 1 KiB":
    "putMany validates and serializes every value first, then sends MSETs of 1,000 keys (pipelined SET PX with a ttl); the raw baseline sends one prebuilt MSET. Against anystore's own sequential puts it is 16-18x (the next row).",
  "s3 / get 1 KiB, 32 in flight":
    "s3rver answers a few hundred requests per second here, so these rows time short bursts; across runs this row ranged 0.80x-1.07x.",
  "s3 / stream 256 MiB out": "Within run-to-run noise (0.78x in one run, above 0.9x in this one).",
  "zip / stream 256 MiB in":
    "anystore spools the streamed value to a temporary file next to the archive while deflating, then appends the entry and rewrites the central directory; the raw baseline streams fflate's Zip straight into the file.",
  "zip / stream 256 MiB out":
    "Entries inflate in bounded slices (at most 64 KiB of compressed input per step, so a zip bomb never inflates at once), with a CRC check at the end; fflate's Unzip inflates each chunk it is given.",
  "zip / getMany 1,000 x 1 KiB":
    "getMany reads the entries in archive order through one 1 MiB read window, inflating and CRC-checking each; fflate's `unzipSync` holds the whole archive in memory and inflates in one synchronous pass.",
  "http / put 1 KiB, sequential":
    "Each call parses the key, adds the protocol headers and maps the status to a typed error; on loopback with ~1,500 requests/s these rows moved 0.74-0.95x across runs.",
  "http / get 1 KiB, sequential":
    "Each call parses the key, adds the protocol headers and maps the status to a typed error; on loopback with ~1,500 requests/s these rows moved 0.84-0.97x across runs.",
  "http / get 1 KiB, 32 in flight": "Within run-to-run noise (0.79-0.95x across runs).",
  "http / stream 256 MiB in":
    "In Node the driver sends streamed uploads through node:http with backpressure instead of fetch, because undici's fetch keeps a streamed request body in memory until the response (nodejs/undici#4058); the raw fetch baseline holds ~260 MiB for the same upload.",
  "http / stream 256 MiB out":
    "The response body passes through the driver's idle-timeout watchdog (a stream that re-arms a timer per chunk) and the store's stream; across runs this row moved 0.46-0.9x.",
  "indexeddb / getMany 1,000 x 1 KiB":
    "One transaction with one request per key, like the raw baseline; each record carries its metadata (size, times, expiry, content type) beside the value, and the store then checks expiry, decodes each value by its serialization and builds a Map. Measured in the page without the store (raw requests on records of this shape, decoded), the record shape costs nothing measurable: the difference is the store's per-key work, about 11 of 64 µs per key in this run. Across runs this row moved 0.83x-0.94x raw.",
  "indexeddb / list a prefix among 100,000 keys":
    "Keys come from key-range cursors in pages (getAllKeys), then through the store's listing one promise step per key; the raw baseline is one getAllKeys of the range.",
  "indexeddb / putMany 1,000 x 1 KiB":
    "Each record carries its metadata (size, times, expiry, content type) beside the value; the raw baseline puts bare values.",
  opfs: "Small values in OPFS are one file each; anystore writes a complete new file and swaps it in (so a key never shows partial data, and a failed write keeps the old value) and checks for key/folder clashes, where the raw baseline overwrites a file in place through a sync handle. Keep small values in IndexedDB (see the README's driver guide).",
  "memory / mirror 10,000 x 1 KiB":
    'mirror lists the target once, then reads each value as a stream (bounded memory for any size): a value that arrives in one chunk waits for a `putMany` batch, larger ones stream into `open(key, "w")`. The raw loop reads each file whole and sets it in a Map.',
};
