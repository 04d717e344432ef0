// The graphflow canvas: a node-graph editor built on Vue Flow, mounted as a NiceGUI element.
//
// Python talks to it through run_method (the `methods` at the bottom; calls that arrive before
// Vue Flow is ready are queued) and hears back through typed events (graphChange, select,
// connectRefused, save, run). The graph that Python receives is exported from the canvas' own
// state after every edit, so the canvas is the single source of truth while it is open.
//
// Untrusted text (labels, errors, problems) is only ever rendered as Vue text nodes and
// attribute values: never v-html or innerHTML.
//
// This file is the component wiring; the editor's parts are ES modules in js/ (editor.js lists them).
import { h, markRaw, shallowRef, provide } from "vue";
import { VueFlow, ConnectionMode, useVueFlow } from "@vue-flow/core";
import { Background } from "@vue-flow/background";
import { ControlButton, Controls } from "@vue-flow/controls";
import { MiniMap } from "@vue-flow/minimap";
import { loadResource } from "../../static/utils/resources.js";
import { contextMenu, outputView, quickAddView, shortcutSheet, toolbarView } from "graphflow-canvas/overlays.js";
import { Editor } from "graphflow-canvas/editor.js";
import { GraphflowNode } from "graphflow-canvas/cards.js";
import { GroupNode, NoteNode } from "graphflow-canvas/notes.js";
import { paletteView } from "graphflow-canvas/palette.js";
import { CANVAS } from "graphflow-canvas/util.js";
import { LAZY_MIN_ZOOM, MIN_ZOOM } from "graphflow-canvas/view.js";

let instances = 0;

const NODE_TYPES = markRaw({ graphflow: GraphflowNode, note: NoteNode, gfgroup: GroupNode });

const VENDORED_CSS = [
  "@vue-flow/core/vue-flow-core.css",
  "@vue-flow/core/vue-flow-theme-default.css",
  "@vue-flow/controls/vue-flow-controls.css",
  "@vue-flow/minimap/vue-flow-minimap.css",
];

function injectStyles(css) {
  if (!css || document.getElementById("graphflow-canvas-css")) return;
  const style = document.createElement("style");
  style.id = "graphflow-canvas-css";
  style.textContent = css;
  document.head.appendChild(style);
}

const FLOW_OPTIONS = Object.freeze({
  class: "gf-vueflow",
  nodeTypes: NODE_TYPES,
  connectionMode: ConnectionMode.Strict,
  connectOnClick: false,
  deleteKeyCode: ["Delete", "Backspace"],
  multiSelectionKeyCode: ["Control", "Meta", "Shift"],
  selectionKeyCode: "Shift",
  zoomOnDoubleClick: false,
  minZoom: MIN_ZOOM,
  maxZoom: 2.5,
});

const READONLY_OPTIONS = Object.freeze({ nodesDraggable: false, nodesConnectable: false, deleteKeyCode: null });

function decorations(editor) {
  // The minimap only for a large graph: a small one is in view whole, and the map would cover part of it.
  return () => [
    h(Background, { gap: 16 }),
    h(Controls, { showInteractive: false }, {
      "control-fit-view": () => h(ControlButton, { class: "vue-flow__controls-fitview", title: "Fit view (F)",
        "aria-label": "fit view", onClick: () => editor.fitView() },
      () => h("span", { class: "material-icons gf-control-icon", "aria-hidden": "true" }, "fit_screen")),
    }),
    editor.minimap.value ? h(MiniMap, { pannable: true, zoomable: true }) : null,
  ];
}

export default {
  name: "GraphflowCanvas",
  props: {
    kinds: { type: Array, default: () => [] },
    graph: { type: Object, default: () => ({}) },
    ports: { type: Object, default: () => ({}) },
    styles: { type: String, default: "" },
    lazy: { default: null }, // true | false | null: automatic, above LAZY_ABOVE nodes
    readonly: { type: Boolean, default: false },
    machineEvents: { type: Boolean, default: false }, // state machine cards offer their valid events as buttons
    runFrom: { type: Boolean, default: false },
  },
  emits: ["graphChange", "select", "connectRefused", "save", "run", "machineEvent"],
  setup(props, { emit }) {
    instances += 1;
    const flowId = `graphflow-canvas-${instances}`;
    const flow = useVueFlow(flowId);
    const editor = new Editor(flow, props, emit);
    for (const [id, ports] of Object.entries(props.ports || {})) editor.portOverrides.set(id, ports);
    editor.listen();
    provide(CANVAS, editor);
    const stylesLoaded = shallowRef(false);
    return { flowId, flow, editor, stylesLoaded };
  },
  async mounted() {
    injectStyles(this.styles);
    this.onKeydown = (event) => this.editor.keydown(event);
    this.onPointerdown = (event) => {
      this.editor.active = this.$el.contains(event.target);
      // a press anywhere but on the menu or the quick-add list closes them (a click would also
      // come at the end of the edge drag that opened the list)
      if (!event.target.closest?.(".gf-menu, .gf-quick")) { this.editor.menu.value = null; this.editor.quick.value = null; }
    };
    window.addEventListener("keydown", this.onKeydown);
    window.addEventListener("pointerdown", this.onPointerdown, true);
    this.onTheme = (event) => this.editor.followTheme(event);
    window.addEventListener("graphflow-theme", this.onTheme);
    this.resizeObserver = new ResizeObserver(() => this.editor.fitIfNeeded());
    this.resizeObserver.observe(this.$el);
    await Promise.all(VENDORED_CSS.map((name) => loadResource(import.meta.resolve(name))));
    this.stylesLoaded = true;
  },
  beforeUnmount() {
    window.removeEventListener("keydown", this.onKeydown);
    window.removeEventListener("pointerdown", this.onPointerdown, true);
    window.removeEventListener("graphflow-theme", this.onTheme);
    this.resizeObserver?.disconnect();
    cancelAnimationFrame(this.editor.frame);
    clearInterval(this.editor.ticker);
    clearTimeout(this.editor.toastTimer);
  },
  methods: {
    set_graph(graph, ports, seq) { this.editor.call("fromPython", [seq, "setGraph", [graph, ports], false]); },
    update_node(id, changes, seq) { this.editor.call("fromPython", [seq, "updateNode", [id, changes || {}], true]); },
    replace_graph(graph, ports, select, seq) {
      this.editor.call("fromPython", [seq, "replaceGraph", [graph, ports, select], true]);
    },
    set_node_status(id, status) { this.editor.call("queueStatuses", [[[id, status]]]); },
    set_statuses(statuses) { this.editor.call("queueStatuses", [Object.entries(statuses || {})]); },
    reset_statuses() { this.editor.call("resetStatuses", []); },
    set_edge_states(states) { this.editor.call("setEdgeStates", [states]); },
    set_problems(problems) { this.editor.call("setOverlay", [this.editor.problems, "problems", problems]); },
    set_heat(heat) { this.editor.call("setOverlay", [this.editor.heat, "heat", heat]); },
    fit_view() { this.editor.call("fitView", []); },
    auto_layout() { this.editor.call("autoLayout", []); },
    undo() { this.editor.call("undo", []); },
    redo() { this.editor.call("redo", []); },
  },
  render() {
    const editor = this.editor;
    const flowChildren = this.stylesLoaded
      ? [h(VueFlow, {
        ...FLOW_OPTIONS,
        id: this.flowId,
        onlyRenderVisibleElements: editor.lazy.value,
        minZoom: editor.lazy.value ? LAZY_MIN_ZOOM : FLOW_OPTIONS.minZoom,
        ...(editor.readonly ? READONLY_OPTIONS : {}),
      }, { default: decorations(editor) })]
      : [];
    if (editor.toast.value) {
      flowChildren.push(h("div", { class: "gf-toast", role: "alert", "data-testid": "connect-refused" }, editor.toast.value));
    }
    if (editor.empty.value) {
      flowChildren.push(h("div", { class: "gf-empty-hint", "data-testid": "empty-hint" },
        "Drag a node kind from the palette onto the canvas, or double-click the canvas to add one; "
        + "then connect an output port to an input port. Press ? for shortcuts."));
    }
    if (this.stylesLoaded) {
      flowChildren.push(toolbarView(editor), shortcutSheet(editor), contextMenu(editor), quickAddView(editor),
        outputView(editor));
    }
    return h("div", {
      class: ["gf-canvas-root", editor.theme.value === "dark" ? "gf-dark" : "gf-light"],
      "data-ready": String(editor.ready.value), "data-theme": editor.theme.value,
    }, [
      editor.readonly ? null : paletteView(editor, this.kinds),
      h("div", {
        class: "gf-flow",
        onDragover: (ev) => { ev.preventDefault(); if (ev.dataTransfer) ev.dataTransfer.dropEffect = "copy"; },
        onDrop: (ev) => (editor.readonly ? null : editor.drop(ev)),
        onDblclick: (ev) => {
          if (!editor.readonly && ev.target.classList?.contains("vue-flow__pane")) editor.openQuick(ev.clientX, ev.clientY, null);
        },
      }, flowChildren),
    ]);
  },
};
