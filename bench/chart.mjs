/**
 * The chart of BENCHMARKS.md: an SVG, written without dependencies. One row per driver and
 * standard workload (extra RSS aside: it is MiB, not a rate); a bar from 1.0x to anystore / raw
 * client, and a dot per peer (anystore / peer), on a log scale clamped to [1/16, 16].
 */

import { W, WORKLOADS } from "./lib.mjs";
import { byDriver, columns, driverLabel, ratio } from "./report.mjs";

const MIN = 1 / 16;
const MAX = 16;
const ROW = 17;
const LEFT = 250;
const PLOT = 560;
const WIDTH = LEFT + PLOT + 90;
const PEER_COLORS = { unstorage: "#e8871e", keyv: "#2a9d4b", "idb-keyval": "#8e44ad" };
const peerColor = (name) => Object.entries(PEER_COLORS).find(([p]) => name.toLowerCase().startsWith(p))?.[1] ?? "#666";

const esc = (s) => String(s).replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
const clamp = (r) => Math.min(MAX, Math.max(MIN, r));
const xOf = (r) => LEFT + ((Math.log2(clamp(r)) - Math.log2(MIN)) / (Math.log2(MAX) - Math.log2(MIN))) * PLOT;
const ticks = [1 / 16, 1 / 8, 1 / 4, 1 / 2, 1, 2, 4, 8, 16];
const tickLabel = (t) => (t < 1 ? `1/${1 / t}` : `${t}`);

/** The rows to draw: group headers and workload rows with their ratios. */
function layout(run) {
  const items = [];
  for (const [id, rows] of byDriver(run)) {
    const workloads = WORKLOADS.filter((w) => w !== W.rss && rows.has(w));
    const drawn = workloads
      .map((w) => {
        const { row } = rows.get(w);
        const c = columns(row);
        const peers = c.peers
          .map(([name, v]) => ({ name, r: ratio(c.ours, v, row.unit) }))
          .filter((p) => p.r !== undefined);
        return { workload: w, raw: ratio(c.ours, c.raw, row.unit), rawName: c.rawName, peers };
      })
      .filter((item) => item.raw !== undefined || item.peers.length > 0);
    if (drawn.length === 0) continue;
    items.push({ header: driverLabel(id) }, ...drawn);
  }
  return items;
}

export function chart(run) {
  const items = layout(run);
  const top = 70;
  const height = top + items.length * ROW + 40;
  const out = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="system-ui, -apple-system, Segoe UI, sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="10" y="18" font-size="14" font-weight="bold">anystore relative to the raw client (bars) and to peers (dots); right of 1 = anystore faster</text>`,
    `<text x="10" y="34" fill="#555">${esc(`${run.date?.slice(0, 10) ?? ""}, ${run.machine?.cores ?? "?"} cores, Node ${run.machine?.node ?? "?"}; log scale, clamped to 1/16 ... 16`)}</text>`,
    legend(44),
  ];
  for (const t of ticks) {
    const x = xOf(t).toFixed(1);
    out.push(`<line x1="${x}" y1="${top - 6}" x2="${x}" y2="${height - 30}" stroke="${t === 1 ? "#333" : "#ddd"}"/>`);
    out.push(`<text x="${x}" y="${height - 16}" text-anchor="middle" fill="#555">${tickLabel(t)}x</text>`);
  }
  const x09 = xOf(0.9).toFixed(1);
  out.push(
    `<line x1="${x09}" y1="${top - 6}" x2="${x09}" y2="${height - 30}" stroke="#c0392b" stroke-dasharray="3,3"/>`,
  );
  out.push(`<text x="${x09}" y="${top - 9}" text-anchor="end" fill="#c0392b">0.9x</text>`);
  items.forEach((item, i) => {
    const y = top + i * ROW;
    if (item.header) {
      out.push(`<rect x="0" y="${y}" width="${WIDTH}" height="${ROW}" fill="#f2f4f7"/>`);
      out.push(`<text x="10" y="${y + 12}" font-weight="bold">${esc(item.header)}</text>`);
      return;
    }
    out.push(`<text x="22" y="${y + 12}">${esc(item.workload)}</text>`);
    if (item.raw !== undefined) {
      const [a, b] = [xOf(1), xOf(item.raw)].sort((p, q) => p - q);
      const color = item.raw < 0.9 ? "#c0392b" : "#2f6db5";
      out.push(
        `<rect x="${a.toFixed(1)}" y="${y + 3}" width="${Math.max(1, b - a).toFixed(1)}" height="${ROW - 6}" fill="${color}" opacity="0.85"><title>${esc(`${item.raw.toFixed(2)}x ${item.rawName}`)}</title></rect>`,
      );
      const clipped = item.raw > MAX || item.raw < MIN ? "›" : "";
      out.push(`<text x="${LEFT + PLOT + 8}" y="${y + 12}" fill="${color}">${item.raw.toFixed(2)}x${clipped}</text>`);
    }
    for (const peer of item.peers) {
      out.push(
        `<circle cx="${xOf(peer.r).toFixed(1)}" cy="${y + ROW / 2}" r="4" fill="${peerColor(peer.name)}" stroke="#fff"><title>${esc(`${peer.r.toFixed(2)}x ${peer.name}`)}</title></circle>`,
      );
    }
  });
  out.push("</svg>");
  return `${out.join("\n")}\n`;
}

function legend(y) {
  const parts = [
    `<rect x="10" y="${y}" width="14" height="9" fill="#2f6db5"/><text x="28" y="${y + 9}">vs raw client</text>`,
    `<rect x="110" y="${y}" width="14" height="9" fill="#c0392b"/><text x="128" y="${y + 9}">vs raw, below 0.9x</text>`,
  ];
  let x = 250;
  for (const [name, color] of Object.entries(PEER_COLORS)) {
    parts.push(
      `<circle cx="${x + 5}" cy="${y + 5}" r="4" fill="${color}"/><text x="${x + 14}" y="${y + 9}">vs ${name}</text>`,
    );
    x += 100;
  }
  return parts.join("");
}
