/**
 * Node project setup: a scratch folder for this run only, under test/.tmp, removed afterwards.
 * Runs may overlap on one machine (several engineers, CI), so a run never empties another's
 * folder; it only removes folders whose run has died.
 */
import { mkdir, readdir, rm } from "node:fs/promises";
import { join } from "node:path";

const ROOT = join(process.cwd(), "test/.tmp");
const RUN = join(ROOT, `run-${process.pid}`);

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
};

export async function setup(): Promise<void> {
  await mkdir(ROOT, { recursive: true });
  for (const name of await readdir(ROOT)) {
    const pid = Number(/^run-(\d+)$/.exec(name)?.[1]);
    if (pid && pid !== process.pid && !alive(pid)) await rm(join(ROOT, name), { recursive: true, force: true });
  }
  await mkdir(RUN, { recursive: true });
  process.env.ANYSTORE_TEST_TMP = RUN; // workers start after this and inherit it
}

export async function teardown(): Promise<void> {
  await rm(RUN, { recursive: true, force: true });
}
