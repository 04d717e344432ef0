// Run overlays: node statuses (batched per frame), elapsed timers, output previews, edge states,
// problems and heat. Never part of the graph or its history.
import { markRaw } from "vue";
import { truncate } from "graphflow-canvas/util.js";

const PREVIEW_LINES = 3;
const PREVIEW_CHARS = 200;
// The card's preview of an output (Python sends it whole, as text): JSON compacted onto as few lines as
// it takes, so that a small object costs one line; then its first lines.
function outputPreview(text) {
  if (/^[[{]/.test(text)) {
    try {
      return firstLines(JSON.stringify(JSON.parse(text)).replace(/,"/g, ', "').replace(/":/g, '": '));
    } catch {
      // cut (too large) or not JSON: its first lines as they are
    }
  }
  return firstLines(text);
}

function firstLines(text) {
  const lines = text.split("\n");
  const shown = truncate(lines.slice(0, PREVIEW_LINES).join("\n"), PREVIEW_CHARS);
  return lines.length > PREVIEW_LINES && !shown.endsWith("…") ? `${shown}\n…` : shown;
}

// Editor methods.
export const runs = {
  queueStatuses(entries) {
    const received = performance.now();
    for (const [id, status] of entries) {
      if (status && typeof status.elapsed === "number") status.tickFrom = received - status.elapsed * 1000;
      if (status && status.output !== undefined) status.preview = outputPreview(String(status.output));
      if (status) this.statuses.set(id, markRaw(status));
      else this.statuses.delete(id);
      this.pendingStatuses.set(id, status ? this.statuses.get(id) : null);
    }
    if (!this.frame) this.frame = requestAnimationFrame(() => this.flushStatuses());
  },

  flushStatuses() {
    this.frame = 0;
    for (const [id, status] of this.pendingStatuses) {
      const node = this.flow.findNode(id);
      if (node && node.data.status !== status) node.data = { ...node.data, status };
    }
    this.pendingStatuses.clear();
    this.tick();
  },

  // One timer for every running node's elapsed time, stopped when none runs.
  tick() {
    const running = [...this.statuses.values()].some((s) => s.tickFrom !== undefined && s.status === "running");
    if (running && !this.ticker) {
      this.ticker = setInterval(() => { this.now.value = performance.now(); this.tick(); }, 100);
    } else if (!running && this.ticker) {
      clearInterval(this.ticker);
      this.ticker = 0;
    }
  },

  showOutput(id) {
    const status = this.statuses.get(id);
    if (status && status.output !== undefined) this.output.value = { nodeId: id, text: String(status.output) };
  },

  resetStatuses() {
    this.pendingStatuses.clear();
    this.statuses.clear();
    this.edgeStates.clear();
    for (const node of this.flow.nodes.value) {
      if (node.data.status) node.data = { ...node.data, status: null };
    }
    for (const edge of this.flow.edges.value) this.styleEdge(edge, null);
    this.output.value = null;
    this.tick();
  },

  setEdgeStates(states) {
    for (const [id, state] of Object.entries(states || {})) {
      if (state) this.edgeStates.set(id, state);
      else this.edgeStates.delete(id);
      const edge = this.flow.findEdge(id);
      if (edge) this.styleEdge(edge, state);
    }
  },

  setOverlay(map, field, values) {
    const before = new Set(map.keys());
    map.clear();
    for (const [id, value] of Object.entries(values || {})) {
      const empty = value === null || (Array.isArray(value) && value.length === 0);
      if (!empty) map.set(id, markRaw(value));
    }
    for (const id of new Set([...before, ...map.keys()])) {
      const node = this.flow.findNode(id);
      if (node) node.data = { ...node.data, [field]: map.get(id) || null };
    }
  },
};
