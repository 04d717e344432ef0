// The graph model: a GraphSpec in and out of Vue Flow (kept nodes patched, large graphs added in
// chunks), and the undo history of JSON snapshots of the exported graph.
import { markRaw, nextTick } from "vue";
import { categoryLook, estimatedGeometry } from "graphflow-canvas/cards.js";
import { GROUP_KIND, GROUP_PREFIX, NOTE_KIND, NOTE_PREFIX, NOTE_SIZE, isGraphNode, isGroup, isNote }
  from "graphflow-canvas/notes.js";

const HISTORY_LIMIT = 100;

const LAZY_ABOVE = 200; // nodes: above this, render only what is in view (lazy=null means automatic)

// Nodes added per task while a large graph loads when every node is rendered (lazy off). One task
// rendering a thousand nodes keeps the main thread busy for seconds: NiceGUI's socket then misses
// its pings, and a client that does not come back within reconnect_timeout is dropped and the
// page reloads (seen with 1,000 nodes on 2 busy cores).
const LOAD_CHUNK = 150;
const PATCH_LIMIT = 50; // nodes added or removed by one undo/redo that are patched in place

function sameData(a, b) {
  return a.status === b.status && a.problems === b.problems && a.heat === b.heat && a.kindTitle === b.kindTitle
    && !a.editing && JSON.stringify(a.spec) === JSON.stringify(b.spec) && JSON.stringify(a.ports) === JSON.stringify(b.ports);
}

// Editor methods: graph <-> Vue Flow.
export const graphModel = {
  portsWithEdges(spec) {
    const ports = this.portsFor(spec);
    for (const e of this.flow.edges.value) {
      if (e.source === spec.id && !ports.outputs.some((p) => p.name === e.sourceHandle)) {
        ports.outputs.push({ name: e.sourceHandle, type: "any", inferred: true });
      }
      if (e.target === spec.id && !ports.inputs.some((p) => p.name === e.targetHandle)) {
        ports.inputs.push({ name: e.targetHandle, type: "any", inferred: true });
      }
    }
    return ports;
  },

  portsFor(spec) {
    const override = this.portOverrides.get(spec.id);
    const kind = this.kinds.get(spec.kind);
    const inputs = override ? override.inputs : kind ? kind.inputs : [];
    const outputs = override ? override.outputs : kind ? kind.outputs : [];
    return { inputs: [...inputs], outputs: [...outputs] };
  },

  flowNode(spec, ports) {
    if (spec.kind === GROUP_KIND) {
      const { position, kind: _kind, ...group } = spec;
      const width = Number(group.width) || 300;
      const height = Number(group.height) || 200;
      return {
        id: spec.id, type: "gfgroup", zIndex: -2000, // below the nodes even when selected (Vue Flow adds 1000)
        position: { x: Number(position?.x) || 0, y: Number(position?.y) || 0 },
        dimensions: { width: width + 0.5, height: height + 0.5 }, handleBounds: { source: [], target: [] },
        data: { spec: markRaw({ ...group, id: spec.id.slice(GROUP_PREFIX.length), width, height }), editing: false },
      };
    }
    if (spec.kind === NOTE_KIND) {
      const { position, kind: _kind, ...note } = spec;
      return {
        id: spec.id, type: "note", position: { x: Number(position?.x) || 0, y: Number(position?.y) || 0 },
        dimensions: { width: NOTE_SIZE.width + 0.5, height: NOTE_SIZE.height + 0.5 }, handleBounds: { source: [], target: [] },
        data: { spec: markRaw({ ...note, id: spec.id.slice(NOTE_PREFIX.length) }), editing: false },
      };
    }
    const kind = this.kinds.get(spec.kind);
    const { position, ...rest } = spec;
    return {
      id: spec.id,
      type: "graphflow",
      position: { x: Number(position?.x) || 0, y: Number(position?.y) || 0 },
      ...estimatedGeometry(spec.id, spec.label || spec.id, ports, this.statuses.has(spec.id)),
      data: {
        spec: markRaw(rest),
        kindTitle: kind ? kind.title : spec.kind,
        category: kind?.category || "other",
        look: categoryLook(kind?.category),
        ports: markRaw(ports),
        status: this.statuses.get(spec.id) || null,
        problems: this.problems.get(spec.id) || null,
        heat: this.heat.get(spec.id) || null,
        editing: false,
      },
    };
  },

  applyGraph(graph) {
    const { nodes: graphNodes = [], edges = [], notes = [], groups = [], ...meta } = graph || {};
    this.meta = meta;
    // exported again only when the graph had them (or gets one)
    this.hasNotes = "notes" in (graph || {});
    this.hasGroups = "groups" in (graph || {});
    // notes and groups go through the same path as nodes (kept, patched, ordered), as specs of their own kinds
    const nodes = [...graphNodes, ...notes.map((n) => ({ ...n, id: NOTE_PREFIX + n.id, kind: NOTE_KIND })),
      ...groups.map((g) => ({ ...g, id: GROUP_PREFIX + g.id, kind: GROUP_KIND }))];
    const ports = new Map(nodes.map((n) => [n.id, this.portsFor(n)]));
    const live = [];
    this.orphanEdges = [];
    for (const edge of edges) {
      const from = ports.get(edge.source);
      const to = ports.get(edge.target);
      if (!from || !to) {
        this.orphanEdges.push(edge);
        continue;
      }
      // An edge always gets a handle to attach to, even on a port the kind does not declare.
      const sp = edge.source_port || "out";
      const tp = edge.target_port || "in";
      if (!from.outputs.some((p) => p.name === sp)) from.outputs.push({ name: sp, type: "any", inferred: true });
      if (!to.inputs.some((p) => p.name === tp)) to.inputs.push({ name: tp, type: "any", inferred: true });
      live.push(edge);
    }
    this.lazy.value = this.lazyOption ?? nodes.length > LAZY_ABOVE;
    this.showMiniMap(nodes.length);
    // Nodes already on the canvas (undo, redo, a graph sent again) keep their measured geometry,
    // and their data object when nothing in it changed, so they do not even re-render.
    const kept = [];
    const fresh = [];
    const remeasure = [];
    for (const spec of nodes) {
      const node = this.flowNode(spec, ports.get(spec.id));
      const existing = this.flow.findNode(spec.id);
      if (!existing) {
        fresh.push(node);
        continue;
      }
      delete node.dimensions;
      delete node.handleBounds;
      if (sameData(existing.data, node.data)) node.data = existing.data;
      else if (JSON.stringify(existing.data.ports) !== JSON.stringify(node.data.ports)) remeasure.push(spec.id);
      kept.push(node);
    }
    // A lazy canvas renders only what is in view, so it takes the whole graph at once.
    const chunk = this.lazy.value ? fresh.length : LOAD_CHUNK;
    const now = [...kept, ...fresh.slice(0, chunk)];
    const present = new Set(now.map((n) => n.id));
    const kindOf = new Map(nodes.map((n) => [n.id, n.kind]));
    const edgeNow = live.filter((e) => present.has(e.source) && present.has(e.target))
      .map((e) => this.flowEdge(e, kindOf.get(e.source)));
    for (const edge of edgeNow) {
      const existing = this.flow.findEdge(edge.id);
      if (existing && JSON.stringify(existing.data.spec) === JSON.stringify(edge.data.spec)) edge.data = existing.data;
    }
    const token = (this.loading?.token ?? 0) + 1;
    this.loading = {
      token,
      nodes: fresh.slice(chunk),
      edges: live.filter((e) => !(present.has(e.source) && present.has(e.target)))
        .map((e) => this.flowEdge(e, kindOf.get(e.source))),
      done: false,
    };
    const order = nodes.map((n) => n.id).filter((id) => present.has(id));
    const gone = this.flow.nodes.value.filter((n) => !present.has(n.id)).map((n) => n.id);
    if (kept.length && gone.length <= PATCH_LIMIT && now.length - kept.length <= PATCH_LIMIT) {
      this.patchNodes(kept, now.slice(kept.length), gone, order);
    } else {
      this.flow.setNodes(now);
    }
    this.flow.setEdges(edgeNow);
    if (remeasure.length) nextTick(() => this.flow.updateNodeInternals(remeasure));
    if (this.loading.nodes.length || this.loading.edges.length) setTimeout(() => this.loadMore(token), 0);
    else this.loading.done = true;
  },

  // Undo and redo change a few nodes of many: update those in place. setNodes would re-parse every
  // node, and Vue Flow's parse looks each node's parent up in a linear scan (quadratic in nodes).
  patchNodes(kept, added, gone, order) {
    for (const node of kept) {
      const existing = this.flow.findNode(node.id);
      if (existing.data !== node.data) existing.data = node.data;
      if (existing.position.x !== node.position.x || existing.position.y !== node.position.y) {
        existing.position = node.position;
      }
    }
    this.silent = true;
    try {
      if (gone.length) this.flow.removeNodes(gone, false);
      if (added.length) this.flow.addNodes(added);
    } finally {
      this.silent = false;
    }
    if (this.flow.nodes.value.map((n) => n.id).join("\n") !== order.join("\n")) {
      this.flow.nodes.value = order.map((id) => this.flow.findNode(id)); // same node objects, graph order
    }
  },

  // The rest of a large graph, a chunk per task (see LOAD_CHUNK); a newer graph cancels it.
  loadMore(token) {
    const loading = this.loading;
    if (!loading || loading.token !== token || loading.done) return;
    const chunk = loading.nodes.splice(0, LOAD_CHUNK).map((n) => ({
      ...n, data: { ...n.data, status: this.statuses.get(n.id) || null, problems: this.problems.get(n.id) || null,
                    heat: this.heat.get(n.id) || null },
    }));
    const added = new Set(chunk.map((n) => n.id));
    const present = (id) => added.has(id) || !!this.flow.findNode(id);
    const ready = loading.edges.filter((e) => present(e.source) && present(e.target));
    loading.edges = loading.edges.filter((e) => !ready.includes(e));
    this.silent = true;
    try {
      this.flow.addNodes(chunk);
      if (ready.length) this.flow.addEdges(ready);
    } finally {
      this.silent = false;
    }
    for (const e of ready) this.styleEdge(this.flow.findEdge(e.id) || e, this.edgeStates.get(e.id));
    if (loading.nodes.length) {
      setTimeout(() => this.loadMore(token), 0);
    } else {
      loading.done = true;
      loading.edges = []; // edges whose nodes were deleted meanwhile
      this.fitIfNeeded();
    }
  },

  exportGraph() {
    const round = (v) => Math.round(v * 100) / 100;
    const pending = this.loading && !this.loading.done ? this.loading : { nodes: [], edges: [] };
    const all = [...this.flow.nodes.value, ...pending.nodes];
    const placed = (n) => ({ ...n.data.spec, position: { x: round(n.position.x), y: round(n.position.y) } });
    const nodes = all.filter(isGraphNode).map(placed);
    const notes = all.filter(isNote).map(placed);
    const groups = all.filter(isGroup).map(placed);
    const edges = [...this.flow.edges.value, ...pending.edges].map((e) => ({
      id: e.id, source: e.source, source_port: e.sourceHandle, target: e.target, target_port: e.targetHandle,
      ...e.data.spec,
    }));
    const graph = { ...this.meta, nodes, edges: [...edges, ...this.orphanEdges] };
    if (notes.length || this.hasNotes) graph.notes = notes;
    if (groups.length || this.hasGroups) graph.groups = groups;
    return graph;
  },

  setGraph(graph, ports) {
    if (ports) this.portOverrides = new Map(Object.entries(ports));
    this.statuses.clear();
    this.pendingStatuses.clear();
    this.edgeStates.clear();
    const placed = this.placed(graph);
    this.applyGraph(placed);
    this.undoStack = [JSON.stringify(this.exportGraph())];
    if (placed !== graph) this.emitGraph(this.exportGraph(), "layout");
    this.redoStack = [];
    this.needsFit = this.flow.nodes.value.length > 0;
    this.emitSelection();
  },

  // One undoable edit of the whole graph, made in Python (a renamed node, the graph's name);
  // `select`: the node to select afterwards (a renamed node is a new node to Vue Flow).
  replaceGraph(graph, ports, select) {
    for (const [id, p] of Object.entries(ports || {})) this.portOverrides.set(id, p);
    this.applyGraph(graph);
    this.commit("edit");
    nextTick(() => {
      const node = select ? this.flow.findNode(select) : null;
      if (node) {
        this.flow.removeSelectedElements();
        this.flow.addSelectedNodes([node]);
      }
      this.emitSelection();
    });
  },
};

// Editor methods: history.
export const history = {
  commit(reason) {
    const graph = this.exportGraph();
    const snapshot = JSON.stringify(graph);
    if (snapshot === this.undoStack[this.undoStack.length - 1]) {
      if (this.answerDue) this.emitGraph(graph, reason);
      return;
    }
    this.undoStack.push(snapshot);
    if (this.undoStack.length > HISTORY_LIMIT) this.undoStack.shift();
    this.redoStack = [];
    this.emitGraph(graph, reason);
  },

  // Every graph sent carries `seq`, the last of Python's edits applied here: Python ignores a graph
  // sent before its latest edit arrived, and waits for this canvas' answer to that edit.
  emitGraph(graph, reason) {
    this.answerDue = false;
    this.emit("graphChange", { graph, reason, seq: this.seq });
  },

  // An edit made in Python (update_node, replace_graph: answered with the graph, changed or not;
  // set_graph: Python has that graph already).
  fromPython(seq, name, args, answer) {
    if (typeof seq === "number") this.seq = seq;
    this[name](...args);
    if (!answer) return;
    this.answerDue = true;
    this.scheduleCommit("edit");
  },

  scheduleCommit(reason) {
    if (this.commitReason === null) {
      Promise.resolve().then(() => {
        const why = this.commitReason;
        this.commitReason = null;
        this.commit(why);
      });
    }
    this.commitReason = reason;
  },

  restore(snapshot, reason) {
    const graph = JSON.parse(snapshot);
    this.applyGraph(graph);
    this.emitGraph(graph, reason);
    this.emitSelection();
  },

  undo() {
    if (this.undoStack.length < 2) return;
    this.redoStack.push(this.undoStack.pop());
    this.restore(this.undoStack[this.undoStack.length - 1], "undo");
  },

  redo() {
    if (!this.redoStack.length) return;
    const snapshot = this.redoStack.pop();
    this.undoStack.push(snapshot);
    this.restore(snapshot, "redo");
  },
};
