/**
 * Why a figure is below 0.9x its raw client, shown in BENCHMARKS.md next to it. Keys are
 * "driver / workload" (driver ids: memory, fs, sqlite, postgres, mysql, redis, s3, zip, http,
 * indexeddb, opfs; workloads: the names in bench/lib.mjs `W`), or a driver id alone for a note
 * that covers all of its figures. Figures without an entry get a `<!-- notes -->` placeholder.
 */
export default {};
