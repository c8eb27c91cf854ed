/**
 * Why a figure is below 0.9x its raw client, shown in BENCHMARKS.md next to it. Keys are
 * "driver / workload" (driver ids: memory, fs, sqlite, postgres, mysql, redis, s3, zip, http,
 * indexeddb, opfs; workloads: the names in bench/lib.mjs `W`), "* / workload" for every driver,
 * or a driver id alone for all of its figures. Figures without an entry get a `<!-- notes -->`
 * placeholder (or the suite's own note for the row).
 */
export default {
  "* / mirror 10,000 x 1 KiB":
    "`mirror` checks whether each key exists in the target, then streams it (`source.open` piped into `target.open(key, \"w\")`) so that values of any size pass in bounded memory; the raw loop reads each 1 KiB file whole and writes it with one call. For small values those extra calls per key dominate.",
  "zip / mirror 10,000 x 1 KiB":
    "Each mirrored key is a write of its own: the entry is appended and the whole central directory (one record per key so far) written again after it, so copying n keys writes O(n²) bytes of directory and the rate falls as the archive grows; fflate builds the archive once in memory with `zipSync`. `putMany` writes 1,000 keys with one directory.",
  "s3 / putMany 1,000 x 1 KiB": "S3 has no batch put: anystore's batch fallback (src/core/complete.ts, BATCH_CONCURRENCY) keeps 16 requests in flight; the raw loop keeps 32.",
  "s3 / getMany 1,000 x 1 KiB": "S3 has no batch get: anystore's batch fallback (src/core/complete.ts, BATCH_CONCURRENCY) keeps 16 requests in flight; the raw loop keeps 32.",
  "http / putMany 1,000 x 1 KiB": "The HTTP protocol has no batch put: anystore's batch fallback (src/core/complete.ts, BATCH_CONCURRENCY) keeps 16 requests in flight; the raw loop keeps 32.",
  "http / getMany 1,000 x 1 KiB": "The HTTP protocol has no batch get: anystore's batch fallback (src/core/complete.ts, BATCH_CONCURRENCY) keeps 16 requests in flight; the raw loop keeps 32.",
  "s3 / stream 256 MiB in":
    "anystore uploads in parts (multipart, 8 MiB parts, 2 in flight), which resumes and goes past S3's 5 GiB single-PUT limit; s3rver stores every part and then copies them into the object on CompleteMultipartUpload (and hashes it again), so it writes the value twice. The raw baseline is one streamed PUT.",
  "s3 / put 1 KiB, sequential":
    "s3rver answers a few hundred requests per second here, so this row times ~150 puts in well under a second; across runs on this machine it ranged 0.58x-1.60x.",
  "zip / getMany 1,000 x 1 KiB":
    "The zip driver has no native getMany: the fallback reads the 1,000 entries one by one (16 in flight), each with its own file read and inflate; fflate reads the whole archive once and inflates the wanted entries in one synchronous pass (fine for an archive that fits in memory).",
};
