// The Editor: one per canvas, holding its state (shallow refs the render functions read) and the
// Vue Flow hooks. Its methods live in one module per concern and are installed on it here.
import { shallowRef } from "vue";
import { connecting } from "graphflow-canvas/ports.js";
import { notesAndGroups, isGraphNode, isGroup } from "graphflow-canvas/notes.js";
import { edges } from "graphflow-canvas/edges.js";
import { graphModel, history } from "graphflow-canvas/graph.js";
import { viewport } from "graphflow-canvas/view.js";
import { loadPrefs, prefs } from "graphflow-canvas/prefs.js";
import { editing } from "graphflow-canvas/editing.js";
import { palette } from "graphflow-canvas/palette.js";
import { quickAdd } from "graphflow-canvas/quickadd.js";
import { keys } from "graphflow-canvas/keys.js";
import { runs } from "graphflow-canvas/runs.js";

export class Editor {
  constructor(flow, props, emit) {
    this.flow = flow;
    this.emit = emit;
    this.kinds = new Map((props.kinds || []).map((k) => [k.kind, k]));
    this.ready = shallowRef(false);
    this.lazyOption = props.lazy; // true | false | null (automatic)
    this.machineEvents = props.machineEvents === true;
    this.runFrom = props.runFrom === true; // the node menu offers "Run from here" (a run event with from_node)
    this.lazy = shallowRef(props.lazy === true);
    this.minimap = shallowRef(false);
    const prefs = loadPrefs();
    this.minimapChoice = prefs.minimap ?? null; // true | false | null (by graph size)
    this.theme = shallowRef(window.graphflowTheme?.get() === "dark" ? "dark" : "light");
    this.sheet = shallowRef(false); // the shortcut sheet
    this.menu = shallowRef(null); // {nodeId, x, y}: a node's right-click menu
    this.quick = shallowRef(null); // {x, y, at, from, query, active}: the quick-add list
    this.output = shallowRef(null); // {nodeId, text}: a node's whole output, opened from its card
    this.now = shallowRef(performance.now()); // ticks while a node runs (its elapsed timer)
    this.ticker = 0;
    this.toast = shallowRef(null);
    this.paletteQuery = shallowRef("");
    this.empty = shallowRef(false);
    this.queue = [];
    this.seq = 0; // the last of Python's edits applied (see emitGraph)
    this.answerDue = false;
    this.meta = {};
    this.orphanEdges = []; // edges whose endpoints are missing: kept and exported unchanged
    this.loading = null; // the part of a large graph not added yet (see loadMore)
    this.silent = false;
    this.portOverrides = new Map();
    this.statuses = new Map();
    this.problems = new Map();
    this.heat = new Map();
    this.edgeStates = new Map();
    this.pendingStatuses = new Map();
    this.frame = 0;
    this.undoStack = [];
    this.redoStack = [];
    this.commitReason = null;
    this.selection = "";
    this.clipboard = null;
    this.pasteCount = 0;
    this.needsFit = false;
    this.active = false;
    this.connected = false;
    this.draggedKind = null;
    this.toastTimer = 0;
    this.initialGraph = props.graph;
    this.readonly = props.readonly === true; // a stored version shown: no palette, no edits
    this.isValidConnection = (connection) => this.refusal(connection) === null;
  }

  // --- Vue Flow hooks

  listen() {
    const flow = this.flow;
    flow.onInit(() => this.start());
    flow.onNodesInitialized(() => this.fitIfNeeded());
    flow.onNodesChange((changes) => {
      if (this.silent) return; // a large graph still loading
      let selection = false;
      if (changes.some((c) => c.type === "add" || c.type === "remove")) this.showMiniMap(this.flow.nodes.value.length);
      for (const change of changes) {
        if (change.type === "add") this.scheduleCommit("add");
        else if (change.type === "position" && change.dragging === false) this.scheduleCommit("move");
        if (change.type === "remove") this.scheduleCommit("remove");
        if (change.type === "select" || change.type === "remove") selection = true;
      }
      if (selection) Promise.resolve().then(() => this.emitSelection());
    });
    flow.onEdgesChange((changes) => {
      if (this.silent) return;
      for (const change of changes) {
        if (change.type === "add") this.scheduleCommit("connect");
        else if (change.type === "remove") this.scheduleCommit("disconnect");
      }
    });
    flow.onNodeContextMenu(({ event, node }) => {
      event.preventDefault();
      if (!isGraphNode(node) || this.readonly) return; // a note or group: Delete, and a double click edits it
      const rect = this.flow.vueFlowRef.value?.getBoundingClientRect();
      if (!rect) return;
      this.quick.value = null;
      this.menu.value = { nodeId: node.id, x: event.clientX - rect.left, y: event.clientY - rect.top };
    });
    flow.onNodeDragStart(({ node }) => {
      this.menu.value = null;
      this.dragGroup = isGroup(node) ? this.groupMembers(node) : null;
    });
    flow.onNodeDrag(({ node }) => {
      const drag = this.dragGroup;
      if (!drag || drag.id !== node.id) return;
      const dx = node.position.x - drag.from.x;
      const dy = node.position.y - drag.from.y;
      for (const [member, start] of drag.members) member.position = { x: start.x + dx, y: start.y + dy };
    });
    flow.onNodeDragStop(() => { this.dragGroup = null; });
    flow.onConnectStart(() => { this.connected = false; });
    flow.onConnect((connection) => this.connect(connection));
    flow.onConnectEnd((event) => this.connectEnded(event));
  }

  async start() {
    // Render the graph only once NiceGUI's socket is connected: a page whose main thread is busy
    // for seconds while it connects (a large graph) times out, and NiceGUI then reloads it.
    for (let waited = 0; window.did_handshake === false && waited < 5000; waited += 20) {
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const placed = this.placed(this.initialGraph);
    this.applyGraph(placed);
    if (placed !== this.initialGraph) this.emitGraph(this.exportGraph(), "layout");
    this.initialGraph = null;
    this.needsFit = this.flow.nodes.value.length > 0;
    this.undoStack = [JSON.stringify(this.exportGraph())];
    const queued = this.queue;
    this.queue = [];
    this.ready.value = true;
    for (const [name, args] of queued) this[name](...args);
    this.fitIfNeeded();
  }

  call(name, args) {
    if (this.ready.value) return this[name](...args);
    const replaces = (n, a) => n === "fromPython" && a[1] === "setGraph"; // a newer graph: the older one is moot
    if (replaces(name, args)) this.queue = this.queue.filter(([n, a]) => !replaces(n, a));
    this.queue.push([name, args]);
    return undefined;
  }

  emitSelection() {
    const ids = this.flow.getSelectedNodes.value.filter(isGraphNode).map((n) => n.id);
    const key = ids.join("\n");
    if (key === this.selection) return;
    this.selection = key;
    this.emit("select", { node_id: ids.length === 1 ? ids[0] : null, node_ids: ids });
  }
}

// A name defined by two modules is an error, not one silently replacing the other.
function install(target, ...groups) {
  for (const group of groups) {
    for (const [name, method] of Object.entries(group)) {
      if (name in target) throw new Error(`Editor.${name} is defined twice`);
      Object.defineProperty(target, name, { value: method, writable: true, configurable: true });
    }
  }
}

install(Editor.prototype, graphModel, history, edges, connecting, viewport, prefs, editing, palette, notesAndGroups,
  quickAdd, keys, runs);
