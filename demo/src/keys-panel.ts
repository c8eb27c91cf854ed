/** The Keys card: what each store holds, one `info` per key (size, type, times). */
import type { Store } from "../../src/index.browser.js";
import { $, formatBytes, formatTime, h } from "./dom.js";

export interface NamedStore {
  label: string;
  store: Store;
}

const LIMIT = 200;

export class KeysPanel {
  #selected = 0;

  constructor(
    readonly root: HTMLElement,
    readonly stores: NamedStore[],
  ) {
    const select = h("select", {
      testid: "keys-store",
      onchange: (e) => {
        this.#selected = Number((e.target as HTMLSelectElement).value);
        void this.refresh();
      },
    });
    select.append(...stores.map((s, i) => h("option", { value: String(i) }, s.label)));
    root.append(
      h(
        "div",
        { class: "keys-toolbar" },
        select,
        h("button", { class: "ghost", testid: "keys-refresh", onclick: () => void this.refresh() }, "Refresh"),
      ),
      h("div", { class: "keys-uri muted small", testid: "keys-uri" }),
      h("div", { class: "table-wrap" }, h("table", { testid: "keys-table" })),
    );
  }

  async refresh(): Promise<void> {
    const { store } = this.stores[this.#selected]!;
    const table = this.root.querySelector("table")!;
    $(".keys-uri").textContent = store.uri;
    const rows: HTMLTableRowElement[] = [];
    try {
      for await (const info of store.list()) {
        rows.push(
          h(
            "tr",
            { testid: "key-row" },
            h(
              "td",
              { class: "key", title: info.uri },
              info.key,
              h("span", { class: "type" }, info.contentType.split(";")[0]!),
            ),
            h("td", { class: "num" }, formatBytes(info.size)),
            h("td", { class: "muted num", title: info.updatedAt?.toISOString() ?? "" }, formatTime(info.updatedAt)),
          ),
        );
        if (rows.length >= LIMIT) break;
      }
    } catch (error) {
      table.replaceChildren(h("tr", {}, h("td", { class: "error" }, `Cannot list: ${(error as Error).message}`)));
      return;
    }
    const head = h(
      "tr",
      {},
      h("th", {}, "key and type"),
      h("th", { class: "num" }, "size"),
      h("th", { class: "num" }, "updated"),
    );
    const empty = h("tr", {}, h("td", { class: "muted", colSpan: 3 }, "No keys."));
    table.replaceChildren(h("thead", {}, head), h("tbody", {}, ...(rows.length ? rows : [empty])));
  }
}
