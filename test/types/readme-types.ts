import { createStore } from "anystore";
import { z } from "zod";

const Note = z.object({ title: z.string(), done: z.boolean() });
const notes = createStore("idb://notes", { schema: Note }); // Store<{ title: string; done: boolean }>
const note = await notes.get("a"); // { title: string; done: boolean }, or NotFoundError
const maybe = await notes.get("a", { default: null }); // ... | null
const bytes = await notes.get("a", { serialization: "raw" }); // Uint8Array
const soft = createStore("idb://notes", { schema: Note, throwOnMissing: false });
const orNull = await soft.get("a"); // { title: string; done: boolean } | null

export { bytes, maybe, note, orNull };
