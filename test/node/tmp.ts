import { join } from "node:path";

/** This run's scratch folder (see global-setup.ts), or test/.tmp when a file runs outside vitest's setup. */
export const TMP = process.env.ANYSTORE_TEST_TMP ?? join(process.cwd(), "test/.tmp");
