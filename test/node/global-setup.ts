/** Node project setup: a scratch folder for fs-based tests, removed afterwards. */
import { mkdir, rm } from "node:fs/promises";
import { join } from "node:path";

export const TMP = join(process.cwd(), "test/.tmp");

export async function setup(): Promise<void> {
  await rm(TMP, { recursive: true, force: true });
  await mkdir(TMP, { recursive: true });
}

export async function teardown(): Promise<void> {
  await rm(TMP, { recursive: true, force: true });
}
