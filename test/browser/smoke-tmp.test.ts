import { expect, test } from "vitest";
test("probe", async () => {
  const root = await navigator.storage.getDirectory();
  const d = await root.getDirectoryHandle("probe", { create: true });
  const out: string[] = [];
  const a = await d.getFileHandle("a", { create: true });
  let w = await a.createWritable(); await w.write(new Uint8Array([1,2,3])); 
  const names1: string[] = []; for await (const [n] of (d as any).entries()) names1.push(n);
  out.push("during write: " + names1.join(","));
  await w.close();
  const t = await d.getFileHandle("t", { create: true });
  w = await t.createWritable(); await w.write(new Uint8Array([9])); await w.close();
  try { await (t as any).move("a"); out.push("move ok, a size=" + (await (await d.getFileHandle("a")).getFile()).size); } catch (e: any) { out.push("move err " + e.name + " " + e.message); }
  const names: string[] = []; for await (const [n] of (d as any).entries()) names.push(n);
  out.push("after: " + names.join(","));
  try { await d.getDirectoryHandle("a", { create: true }); } catch (e: any) { out.push("dir-over-file " + e.name); }
  await d.getDirectoryHandle("sub", { create: true });
  try { await d.getFileHandle("sub", { create: true }); } catch (e: any) { out.push("file-over-dir " + e.name); }
  try { await d.getFileHandle("nope"); } catch (e: any) { out.push("missing " + e.name); }
  try { await d.getFileHandle("sub"); } catch (e: any) { out.push("file-get-on-dir " + e.name); }
  out.push("sync in window: " + typeof (FileSystemFileHandle.prototype as any).createSyncAccessHandle);
  w = await a.createWritable(); await w.write(new Uint8Array([5,5])); await w.abort();
  out.push("after abort size " + (await a.getFile()).size);
  // move into other dir
  const t2 = await d.getFileHandle("t2", { create: true });
  const sub = await d.getDirectoryHandle("sub");
  try { await (t2 as any).move(sub, "x"); out.push("move to dir ok"); } catch (e: any) { out.push("move2 err " + e.name); }
  await root.removeEntry("probe", { recursive: true });
  console.log(out.join("\n"));
  // storage estimate
  console.log(JSON.stringify(await navigator.storage.estimate()));
  console.log("mem", (performance as any).memory?.usedJSHeapSize);
});
