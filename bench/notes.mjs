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
};
