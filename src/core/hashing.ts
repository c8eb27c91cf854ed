/** The checksum algorithms a store, the HTTP protocol and the CLI take (SPEC 3), in the order messages list them. */
export const HASH_ALGORITHMS = ["sha256", "sha1", "md5", "sha512"] as const;

export type HashAlgorithm = (typeof HASH_ALGORITHMS)[number];

/** True for a name in `HASH_ALGORITHMS`. */
export function isHashAlgorithm(name: unknown): name is HashAlgorithm {
  return (HASH_ALGORITHMS as readonly unknown[]).includes(name);
}

/** An incremental hash; `digest` returns lowercase hex. */
export interface Hasher {
  update(bytes: Uint8Array): void;
  digest(): string;
}
