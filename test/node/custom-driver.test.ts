/**
 * The README's minimal driver: only get/put/delete/list, everything else emulated by the store.
 * And the same with an atomic create of its own (ttl still emulated by the store).
 */
import { AlreadyExistsError, createStore, type Driver } from "../../src/index.node.js";
import { contractSuite } from "../shared/contract.js";

function objectDriver(target: Record<string, string> = {}): Driver {
  const encode = (bytes: Uint8Array) => Buffer.from(bytes).toString("base64");
  const decode = (text: string) => new Uint8Array(Buffer.from(text, "base64"));
  return {
    name: "object",
    capabilities: {},
    async get(key) {
      const text = target[key];
      return text === undefined ? null : decode(text);
    },
    async put(key, value) {
      target[key] = encode(value);
    },
    async delete(key) {
      delete target[key];
    },
    async *list(prefix) {
      for (const key of Object.keys(target)) if (key.startsWith(prefix)) yield key;
    },
  };
}

contractSuite({
  name: "custom driver (all emulated)",
  make: (options) => createStore({ ...options, driver: objectDriver(), uri: "object://test" }),
});

/** The minimal driver whose put refuses an existing key itself, atomically (`capabilities.ifNotExists`). */
function creatingDriver(): Driver {
  const target: Record<string, string> = {};
  const inner = objectDriver(target);
  return {
    ...inner,
    name: "object-creating",
    capabilities: { ifNotExists: true },
    async put(key, value, opts) {
      // Checked and written in one synchronous step: nothing can come between.
      if (opts.ifNotExists && key in target) throw new AlreadyExistsError(`key already exists: ${key}`, { key });
      target[key] = Buffer.from(value).toString("base64");
    },
  };
}

contractSuite({
  name: "custom driver (native ifNotExists, emulated ttl)",
  make: (options) => createStore({ ...options, driver: creatingDriver(), uri: "object://creating" }),
});
