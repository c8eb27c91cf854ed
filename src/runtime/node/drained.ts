import type { OutgoingMessage } from "node:http";

/**
 * Resolves on the next `drain` or `close` of an outgoing HTTP message (a client request or a
 * server response), removing both listeners: backpressure for code that writes bodies by hand.
 */
export function drained(message: OutgoingMessage): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      message.off("drain", done);
      message.off("close", done);
      resolve();
    };
    message.on("drain", done);
    message.on("close", done);
  });
}
