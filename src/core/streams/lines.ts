import { concat } from "./to-bytes.js";

/**
 * Splits bytes into lines on `\n`, dropping a trailing `\r`; a final `\n` yields no empty line.
 * For `store.stream` and `smartStream` (JSON lines).
 */
export function lineSplitter(): TransformStream<Uint8Array, Uint8Array> {
  let pending: Uint8Array[] = [];
  const emit = (parts: Uint8Array[], controller: TransformStreamDefaultController<Uint8Array>) => {
    let line = concat(parts);
    if (line.byteLength > 0 && line[line.byteLength - 1] === 13) line = line.subarray(0, -1);
    controller.enqueue(line);
  };
  return new TransformStream<Uint8Array, Uint8Array>({
    transform(chunk, controller) {
      let from = 0;
      for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, from)) {
        pending.push(chunk.subarray(from, i));
        emit(pending, controller);
        pending = [];
        from = i + 1;
      }
      if (from < chunk.byteLength) pending.push(chunk.slice(from));
    },
    flush(controller) {
      if (pending.length > 0) emit(pending, controller);
    },
  });
}
