// The viewport: fitting the graph in view, and the automatic layout (js/layout.js) applied as one edit.
import { nextTick } from "vue";
import { layeredLayout, needsLayout } from "graphflow-canvas/layout.js";
import { estimatedGeometry } from "graphflow-canvas/cards.js";
import { CARD } from "graphflow-canvas/util.js";

const LAZY_FIT_ZOOM = 0.5; // a lazy canvas fits the graph no smaller than this...
export const LAZY_MIN_ZOOM = 0.25; // ...and zooms out no further: each step out renders more nodes at once

export const MIN_ZOOM = 0.05; // how far out the canvas zooms (a lazy one: LAZY_MIN_ZOOM)
const FIT_PADDING = 32; // px
const FIT_MAX_ZOOM = 1; // a small graph is shown at its natural size, not blown up
// ...and a large one no smaller than this, where a card's 12 px text is still about 9 px: one that does
// not fit then opens at its start (inputs on the left), the minimap showing the rest.
const FIT_MIN_ZOOM = 0.75;

// Editor methods.
export const viewport = {
  // readable (a graph opening, after a layout): the whole graph when it fits at a readable zoom
  // (FIT_MIN_ZOOM, LAZY_FIT_ZOOM for a lazy one, where fitting a thousand nodes on screen would render
  // every one of them); else its start at that zoom: the left edge (where a left-to-right graph begins),
  // centred vertically if it fits, else its top. Not readable (the fit buttons, F, fit_view()): the
  // whole graph however small (a lazy one no smaller than LAZY_MIN_ZOOM).
  fitView({ readable = false } = {}) {
    const box = this.bounds();
    const view = this.flow.dimensions.value;
    if (!box || !(view.width > 0)) return;
    const minZoom = readable ? (this.lazy.value ? LAZY_FIT_ZOOM : FIT_MIN_ZOOM)
      : (this.lazy.value ? LAZY_MIN_ZOOM : MIN_ZOOM);
    const pad = FIT_PADDING;
    const fits = Math.min((view.width - 2 * pad) / box.width, (view.height - 2 * pad) / box.height);
    const zoom = Math.max(minZoom, Math.min(FIT_MAX_ZOOM, fits));
    const x = box.width * zoom <= view.width - 2 * pad
      ? (view.width - box.width * zoom) / 2 - box.x * zoom : pad - box.x * zoom;
    const y = box.height * zoom <= view.height - 2 * pad
      ? (view.height - box.height * zoom) / 2 - box.y * zoom : pad - box.y * zoom;
    this.flow.setViewport({ x, y, zoom });
  },

  // The point of the flow at the centre of the view (null before the canvas is mounted).
  viewCentre() {
    const rect = this.flow.vueFlowRef.value?.getBoundingClientRect();
    if (!rect) return null;
    return this.flow.screenToFlowCoordinate({ x: rect.left + rect.width / 2, y: rect.top + rect.height / 2 });
  },

  bounds() {
    const nodes = this.flow.nodes.value;
    if (!nodes.length) return null;
    let [left, top, right, bottom] = [Infinity, Infinity, -Infinity, -Infinity];
    for (const n of nodes) {
      const { x, y } = n.computedPosition || n.position;
      left = Math.min(left, x);
      top = Math.min(top, y);
      right = Math.max(right, x + (n.dimensions.width || CARD.width));
      bottom = Math.max(bottom, y + (n.dimensions.height || CARD.base));
    }
    return { x: left, y: top, width: Math.max(1, right - left), height: Math.max(1, bottom - top) };
  },

  // --- automatic layout (js/layout.js)

  // The graph with every node placed by the layered layout: measured sizes where the card is rendered, else estimated.
  laidOut(graph) {
    const sizes = (spec) => {
      const shown = this.flow.findNode(spec.id);
      if (shown && shown.dimensions.width > 0) return shown.dimensions;
      return estimatedGeometry(spec.id, spec.label || spec.id, this.portsFor(spec), this.statuses.has(spec.id)).dimensions;
    };
    const nodes = graph.nodes || [];
    const positions = layeredLayout(nodes.map((n) => ({ id: n.id, ...sizes(n) })), graph.edges || []);
    return { ...graph, nodes: nodes.map((n) => ({ ...n, position: positions.get(n.id) })) };
  },

  // On demand (the toolbar's Layout button, "L", or Python's auto_layout()): one undoable edit.
  autoLayout() {
    if (this.readonly) return;
    if (this.loading && !this.loading.done) return; // the rest of a large graph is still being added
    const graph = this.exportGraph();
    if (!graph.nodes.length) return;
    this.moveNodes(this.laidOut(graph).nodes);
    this.commit("layout");
    this.needsFit = true;
    nextTick(() => this.fitIfNeeded());
  },

  // Only positions change in a layout: the nodes on the canvas are moved in place, and their data, the
  // edges and everything else stay as they are (applyGraph would build and compare every node and edge again).
  moveNodes(specs) {
    for (const spec of specs) {
      const node = this.flow.findNode(spec.id);
      if (node && (node.position.x !== spec.position.x || node.position.y !== spec.position.y)) {
        node.position = { ...spec.position };
      }
    }
  },

  // A graph that arrives without positions (every node on one point) is laid out before it is shown.
  placed(graph) {
    return needsLayout(graph?.nodes || []) ? this.laidOut(graph) : graph;
  },

  fitIfNeeded() {
    // the viewport size Vue Flow measured: reading clientWidth here would force a layout of every new node
    if (!this.needsFit || !this.ready.value || !(this.flow.dimensions.value.width > 0)) return;
    if (this.loading && !this.loading.done) return;
    if (!this.flow.nodes.value.every((n) => n.dimensions.width > 0)) return;
    this.needsFit = false;
    this.fitView({ readable: true });
  },
};
