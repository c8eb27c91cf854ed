/**
 * What a consumer project sees of anystore's types in any runtime (test/node/types.test.ts
 * typechecks this file under every TypeScript setting SPEC 3 names). `Equal` fails to compile
 * when a type is not exactly the expected one, so `any` leaking out of a typed store fails too.
 */
import { createStore, isAnystoreError, mirror, type Store, tags, toUnstorage } from "anystore";
import { z } from "zod";

type Equal<A, B> = (<X>() => X extends A ? 1 : 2) extends <X>() => X extends B ? 1 : 2 ? true : false;
const expectType = <T extends true>(): T | undefined => undefined;

const Note = z.object({ title: z.string(), done: z.boolean() });
type Note = z.infer<typeof Note>;

export async function schemaTyped(): Promise<void> {
  const notes = createStore("memory://", { schema: Note });
  expectType<Equal<typeof notes, Store<Note>>>();
  const note = await notes.get("a");
  expectType<Equal<typeof note, Note>>();
  const orNull = await notes.get("a", { default: null });
  expectType<Equal<typeof orNull, Note | null>>();
  const orFallback = await notes.get("a", { default: "none" });
  expectType<Equal<typeof orFallback, Note | "none">>();
  const soft = await notes.get("a", { throwOnMissing: false });
  expectType<Equal<typeof soft, Note | null>>();
  const bytes = await notes.get("a", { serialization: "raw" });
  expectType<Equal<typeof bytes, Uint8Array>>();
  const bytesOrNull = await notes.get("a", { serialization: "raw", default: null });
  expectType<Equal<typeof bytesOrNull, Uint8Array | null>>();
  const popped = await notes.pop("a", { default: undefined });
  expectType<Equal<typeof popped, Note | undefined>>();
  const many = await notes.getMany(["a", "b"]);
  expectType<Equal<typeof many, Map<string, Note>>>();
  for await (const value of notes.values()) expectType<Equal<typeof value, Note>>();
  for await (const value of notes.stream("a.jsonl")) expectType<Equal<typeof value, Note>>();
  expectType<Equal<typeof notes.child, (prefix: string) => Store<Note>>>();
  const tagged = await tags(notes).get("a", { default: null });
  expectType<Equal<typeof tagged, Note | null>>();

  await notes.put("a", { title: "t", done: false });
  await notes.put("b", new Uint8Array([1])); // bytes always go in
  // @ts-expect-error a Note has a title
  await notes.put("a", { done: false });
  // @ts-expect-error no such field on a Note: nothing typed `any` comes out
  note.body;
  // @ts-expect-error a Note is not a string
  const wrong: string = await notes.get("a");
  void wrong;
}

export async function storeOptions(): Promise<void> {
  const soft = createStore("memory://", { schema: Note, throwOnMissing: false });
  const maybe = await soft.get("a");
  expectType<Equal<typeof maybe, Note | null>>();
  const strict = await soft.get("a", { throwOnMissing: true });
  expectType<Equal<typeof strict, Note>>();

  const raw = createStore("memory://", { serialization: "raw" });
  const bytes = await raw.get("a");
  expectType<Equal<typeof bytes, Uint8Array>>();
  const rawSoft = createStore({ uri: "memory://", serialization: "raw", throwOnMissing: false });
  const maybeBytes = await rawSoft.get("a");
  expectType<Equal<typeof maybeBytes, Uint8Array | null>>();

  const untyped = createStore("memory://");
  const value = await untyped.get("a");
  expectType<Equal<typeof value, unknown>>();
  const explicit = createStore<{ n: number }>("memory://");
  const n = await explicit.get("a");
  expectType<Equal<typeof n, { n: number }>>();

  // Typed stores work with the tools that take any store.
  await mirror(soft, raw);
  toUnstorage(soft);
  expectType<Equal<ReturnType<(typeof untyped)[typeof Symbol.asyncDispose]>, PromiseLike<void>>>();
  try {
    await untyped.get("missing");
  } catch (error) {
    if (isAnystoreError(error, "NOT_FOUND")) expectType<Equal<typeof error.code, "NOT_FOUND" | typeof error.code>>();
  }
}
