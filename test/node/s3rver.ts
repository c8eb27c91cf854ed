/**
 * Starts s3rver-server.mjs (s3rver in its own process, see there why) for the node s3 tests and
 * the browser project's globalSetup.
 */
import { spawn } from "node:child_process";
import { once } from "node:events";
import { join } from "node:path";

export interface S3rverProcess {
  /** `http://127.0.0.1:PORT` */
  endpoint: string;
  /** Stops the server and waits for its process to exit. */
  stop(): Promise<void>;
}

/** Serves `dir` on a free loopback port; `corsBuckets` are created with a CORS rule for loopback pages. Bounded wait. */
export async function startS3rver(dir: string, corsBuckets: string[] = []): Promise<S3rverProcess> {
  const script = join(import.meta.dirname, "s3rver-server.mjs");
  const child = spawn(process.execPath, ["--openssl-legacy-provider", script, dir, ...corsBuckets], {
    stdio: ["pipe", "pipe", "inherit"],
  });
  const exited = once(child, "exit").catch(() => {});
  const port = await new Promise<number>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error("s3rver did not start within 20 s")), 20_000);
    child.once("exit", (code) => reject(new Error(`s3rver exited with ${code}`)));
    child.stdout.once("data", (data) => {
      clearTimeout(timer);
      resolve(JSON.parse(String(data)).port);
    });
  }).catch((error) => {
    child.kill("SIGKILL");
    throw error;
  });
  return {
    endpoint: `http://127.0.0.1:${port}`,
    async stop() {
      if (child.exitCode === null && child.signalCode === null) {
        child.stdin.end();
        child.kill("SIGTERM");
        await exited;
      }
    },
  };
}
