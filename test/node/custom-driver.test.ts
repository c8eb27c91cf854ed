/** The README's minimal driver: only get/put/delete/list, everything else emulated by the store. */
import { createStore, type Driver } from "../../src/index.node.js";
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

contractSuite({ name: "custom driver (all emulated)", make: (options) => createStore({ ...options, driver: objectDriver(), uri: "object://test" }) });
