import { md5, sha1 } from "@noble/hashes/legacy.js";
import { sha256, sha512 } from "@noble/hashes/sha2.js";
import { bytesToHex } from "@noble/hashes/utils.js";
import type { HashAlgorithm, Hasher } from "../../core/hashing.js";

const HASHES = { sha256, sha1, md5, sha512 } satisfies Record<HashAlgorithm, unknown>;

/**
 * Hashing with @noble/hashes: WebCrypto cannot hash a stream, nor MD5. The browser runtime
 * imports this module on the first checksum, so @noble stays out of the initial bundle.
 */
export function nobleHasher(algorithm: HashAlgorithm): Hasher {
  const hash = HASHES[algorithm].create();
  return { update: (bytes) => void hash.update(bytes), digest: () => bytesToHex(hash.digest()) };
}
