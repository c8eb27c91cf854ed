/**
 * A child process for the fs reliability tests (run with `node --import tsx`):
 *
 * - `hammer ROOT ID ROUNDS`: puts, reads back and deletes its own key in a folder that other
 *   processes empty too; prints a JSON line of the errors it met.
 * - `write ROOT SEED`: rewrites keys forever (bytes and streams, with and without ttl) with
 *   self-checking values, until killed; prints `ready` after its first write.
 */
import { fsDriver } from "../../src/drivers/node/fs/fs.js";
import { checkedValue } from "./fs-values.js";

const [mode, root, arg, rounds] = process.argv.slice(2);
const driver = fsDriver({ root });

if (mode === "hammer") {
  const errors: string[] = [];
  const value = new TextEncoder().encode("v");
  for (let i = 0; i < Number(rounds); i++) {
    const key = `f/g/h/w${arg}-${i % 3}`;
    try {
      await driver.put(key, value, i % 2 ? { ttl: 60 } : {});
      if ((await driver.get(key)) === null) errors.push(`lost ${key}`);
      await driver.delete(key);
    } catch (error) {
      errors.push(String(error));
    }
  }
  process.stdout.write(`${JSON.stringify(errors)}\n`);
} else if (mode === "write") {
  let seed = Number(arg);
  const random = () => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  for (let n = 0; ; n++) {
    const key = random() < 0.5 ? `k${Math.floor(random() * 4)}` : `d/e/k${Math.floor(random() * 4)}`;
    const value = checkedValue(`${arg}-${n}`, Math.floor(random() * 200_000));
    const opts = random() < 0.5 ? { ttl: 3600 } : {};
    if (random() < 0.5) {
      await driver.put(key, value, opts);
    } else {
      const writer = (await driver.write!(key, opts)).getWriter();
      for (let at = 0; at < value.byteLength; at += 16_384) await writer.write(value.subarray(at, at + 16_384));
      await writer.close();
    }
    if (n === 0) process.stdout.write("ready\n");
  }
}
