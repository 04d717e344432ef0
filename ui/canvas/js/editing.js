// Editing nodes: add, update, rename, duplicate, delete, disable, copy and paste.
import { markRaw, nextTick } from "vue";
import { clone, freshId } from "graphflow-canvas/util.js";
import { isGraphNode } from "graphflow-canvas/notes.js";

// Editor methods.
export const editing = {
  takenIds() {
    return new Set(this.exportGraph().nodes.map((n) => n.id));
  },

  takenEdgeIds() {
    return new Set(this.exportGraph().edges.map((e) => e.id));
  },

  addNode(kindName, position) {
    const kind = this.kinds.get(kindName);
    if (!kind) return null;
    const spec = { id: freshId(kind.kind, this.takenIds()), kind: kind.kind, label: "", config: clone(kind.default_config) ?? {} };
    this.flow.addNodes([this.flowNode({ ...spec, position }, this.portsFor(spec))]);
    return spec.id;
  },

  updateNode(id, changes) {
    const node = this.flow.findNode(id);
    if (!node) return;
    const spec = { ...node.data.spec };
    if (changes.label !== undefined && changes.label !== null) spec.label = String(changes.label);
    if (changes.config !== undefined && changes.config !== null) spec.config = clone(changes.config);
    for (const [key, value] of Object.entries(changes.fields || {})) {  // node options: timeout, retry, ...
      if (key === "id" || key === "kind" || key === "position") continue;
      if (value === null) delete spec[key]; else spec[key] = clone(value);
    }
    if (changes.ports) this.portOverrides.set(id, changes.ports);
    node.data = { ...node.data, spec: markRaw(spec), ports: markRaw(this.portsWithEdges(spec)), editing: false };
    if (changes.ports) nextTick(() => this.flow.updateNodeInternals([id]));
    this.scheduleCommit("edit");
  },

  startEditing(id) {
    if (this.readonly) return;
    const node = this.flow.findNode(id);
    if (node) node.data = { ...node.data, editing: true };
  },

  finishEditing(id, label) {
    const node = this.flow.findNode(id);
    if (!node || !node.data.editing) return;
    if (label === null || label === node.data.spec.label) node.data = { ...node.data, editing: false };
    else this.updateNode(id, { label });
  },

  duplicate(id) {
    const node = this.flow.findNode(id);
    if (!node) return;
    const spec = { ...clone(node.data.spec), id: freshId(node.data.spec.kind, this.takenIds()) };
    const ports = this.portOverrides.get(id);
    if (ports) this.portOverrides.set(spec.id, ports);
    spec.position = { x: node.position.x + 40, y: node.position.y + 40 };
    this.flow.removeSelectedElements();
    this.flow.addNodes([{ ...this.flowNode(spec, this.portsFor(spec)), selected: true }]);
  },

  deleteNode(id) {
    if (this.flow.findNode(id)) this.flow.removeNodes([id], true);
  },

  toggleDisabled(id) {
    const node = this.flow.findNode(id);
    if (node) this.updateNode(id, { fields: { disabled: node.data.spec.disabled ? null : true } });
  },

  copy() {
    const nodes = this.flow.getSelectedNodes.value.filter(isGraphNode);
    if (!nodes.length) return;
    const ids = new Set(nodes.map((n) => n.id));
    this.clipboard = {
      nodes: nodes.map((n) => ({ spec: { ...clone(n.data.spec), position: { ...n.position } }, ports: this.portOverrides.get(n.id) })),
      edges: this.flow.edges.value.filter((e) => ids.has(e.source) && ids.has(e.target)).map((e) => ({
        source: e.source, source_port: e.sourceHandle, target: e.target, target_port: e.targetHandle, ...clone(e.data.spec),
      })),
    };
    this.pasteCount = 0;
  },

  paste() {
    if (!this.clipboard) return;
    this.pasteCount += 1;
    const offset = 40 * this.pasteCount;
    const taken = this.takenIds();
    const renamed = new Map();
    const nodes = this.clipboard.nodes.map(({ spec, ports }) => {
      const id = freshId(spec.kind, taken);
      taken.add(id);
      renamed.set(spec.id, id);
      if (ports) this.portOverrides.set(id, ports);
      const copy = { ...clone(spec), id, position: { x: spec.position.x + offset, y: spec.position.y + offset } };
      return { ...this.flowNode(copy, this.portsFor(copy)), selected: true };
    });
    const edgeIds = this.takenEdgeIds();
    const edges = this.clipboard.edges.map((e) => {
      const id = freshId("e", edgeIds);
      edgeIds.add(id);
      return this.flowEdge({ ...clone(e), id, source: renamed.get(e.source), target: renamed.get(e.target) });
    });
    this.flow.removeSelectedElements();
    this.flow.addNodes(nodes);
    this.flow.addEdges(edges);
  },
};
