/**
 * PostgreSQL LISTEN on a connection of its own, kept up across outages: when the connection
 * drops it reconnects with backoff (up to 5 s apart) and, once it listens again, reports the gap.
 */
interface PgNotification {
  channel: string;
  payload?: string;
}
interface PgListener {
  connect(): Promise<unknown>;
  query(text: string): Promise<unknown>;
  end(): Promise<void>;
  on(event: "notification", listener: (message: PgNotification) => void): unknown;
  on(event: "error" | "end", listener: (error?: unknown) => void): unknown;
  removeAllListeners(): unknown;
}

export interface ListenTarget {
  url?: string | undefined;
  /** A given `pg.Pool` (its connection options are reused) or `pg.Client` (listened on as is). */
  client?: object | undefined;
  connectTimeout: number;
}

const backoff = (attempt: number) => Math.min(100 * 2 ** attempt, 5000);

/** Listens on `channel` until `signal` aborts; resolves once the first LISTEN is in place. */
export async function pgListen(
  target: ListenTarget,
  channel: string,
  deliver: (payload: string) => void,
  gap: () => void,
  signal: AbortSignal,
): Promise<void> {
  const pg = (await import("pg")).default;
  const poolOptions = (target.client as { options?: Record<string, unknown> } | undefined)?.options;
  const given = target.client !== undefined && poolOptions === undefined;
  const listenSql = `LISTEN "${channel.replace(/"/g, '""')}"`;
  const onNotification = (message: PgNotification) => {
    if (message.channel === channel && message.payload !== undefined) deliver(message.payload);
  };

  if (given) {
    // A plain Client handed in: listen on it, and stop listening when the watch ends.
    const client = target.client as unknown as PgListener;
    client.on("notification", onNotification);
    await client.query(listenSql);
    signal.addEventListener("abort", () => {
      (client as unknown as { off(e: string, l: unknown): void }).off("notification", onNotification);
      client.query(`UN${listenSql}`).catch(() => {});
    });
    return;
  }

  const config = target.url
    ? { connectionString: target.url, connectionTimeoutMillis: target.connectTimeout, keepAlive: true }
    : { ...poolOptions, keepAlive: true };
  let current: PgListener | undefined;
  let timer: ReturnType<typeof setTimeout> | undefined;
  const open = async (): Promise<void> => {
    const client = new pg.Client(config) as unknown as PgListener;
    current = client;
    client.on("notification", onNotification);
    let lost = false;
    const onLost = () => {
      if (lost) return;
      lost = true;
      client.removeAllListeners();
      client.on("error", () => {});
      client.end().catch(() => {});
      if (!signal.aborted) reconnect(0);
    };
    try {
      await client.connect();
      await client.query(listenSql);
    } catch (error) {
      client.removeAllListeners();
      client.on("error", () => {});
      client.end().catch(() => {});
      throw error;
    }
    client.on("error", onLost);
    client.on("end", onLost);
    if (signal.aborted) void client.end().catch(() => {});
  };
  const reconnect = (attempt: number) => {
    timer = setTimeout(() => {
      open().then(
        () => (signal.aborted ? undefined : gap()),
        () => {
          if (!signal.aborted) reconnect(attempt + 1);
        },
      );
    }, backoff(attempt));
  };
  signal.addEventListener(
    "abort",
    () => {
      clearTimeout(timer);
      const client = current;
      current = undefined;
      if (!client) return;
      client.removeAllListeners();
      client.on("error", () => {});
      client.end().catch(() => {});
    },
    { once: true },
  );
  await open();
}
