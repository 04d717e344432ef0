// Sticky notes and groups: their components and the editor's methods that add and edit them.
import { h, markRaw, defineComponent, inject } from "vue";
import { CANVAS, CARD, freshId } from "graphflow-canvas/util.js";

// A sticky note (GraphSpec.notes): its flow id is NOTE_PREFIX + its id, which no node id can be (":" is
// not allowed in one). Its text is a text node; a double click edits it in a textarea.
export const NOTE_PREFIX = "note:";
export const NOTE_KIND = "\u0000note"; // the kind of a note's entry among the node specs inside applyGraph
export const NOTE_SIZE = { width: 180, height: 90 };
export const isNote = (flowNode) => flowNode.type === "note";
// A group (GraphSpec.groups): flow id GROUP_PREFIX + its id, drawn under the nodes; dragging it moves
// the nodes and notes that lie wholly inside it when the drag starts.
export const GROUP_PREFIX = "group:";
export const GROUP_KIND = "\u0000group";
const GROUP_PAD = 24; // px around the selection a new group frames
export const isGroup = (flowNode) => flowNode.type === "gfgroup";
export const isGraphNode = (flowNode) => flowNode.type === "graphflow";

export const GroupNode = markRaw(defineComponent({
  name: "GraphflowGroup",
  inheritAttrs: false,
  props: { id: { type: String, required: true }, data: { type: Object, required: true } },
  setup(props) {
    const editor = inject(CANVAS);
    return () => {
      const { id, data } = props;
      const head = data.editing
        ? h("input", {
          class: "gf-group-input nodrag nopan", value: data.spec.label, "aria-label": "group name", maxlength: 200,
          onVnodeMounted: ({ el }) => { el.focus(); el.select(); },
          onKeydown: (ev) => {
            ev.stopPropagation();
            if (ev.key === "Enter") editor.finishGroup(id, ev.target.value);
            else if (ev.key === "Escape") editor.finishGroup(id, null);
          },
          onBlur: (ev) => editor.finishGroup(id, ev.target.value),
        })
        : h("div", { class: "gf-group-label", onDblclick: (ev) => { ev.stopPropagation(); editor.startEditing(id); } },
          data.spec.label || "Group");
      return h("div", {
        class: "gf-group", "data-group-id": data.spec.id, "data-testid": "group",
        style: { width: `${data.spec.width}px`, height: `${data.spec.height}px` },
      }, [head]);
    };
  },
}));

export const NoteNode = markRaw(defineComponent({
  name: "GraphflowNote",
  inheritAttrs: false,
  props: { id: { type: String, required: true }, data: { type: Object, required: true } },
  setup(props) {
    const editor = inject(CANVAS);
    return () => {
      const { id, data } = props;
      const attrs = { class: "gf-note", "data-note-id": data.spec.id, "data-testid": "note" };
      if (!data.editing) {
        return h("div", { ...attrs, onDblclick: (ev) => { ev.stopPropagation(); editor.startEditing(id); } },
          data.spec.text || h("span", { class: "gf-note-empty" }, "Double-click to write"));
      }
      return h("div", attrs, [h("textarea", {
        class: "gf-note-input nodrag nopan nowheel", value: data.spec.text, "aria-label": "note text",
        onVnodeMounted: ({ el }) => { el.focus(); el.select(); },
        onKeydown: (ev) => {
          ev.stopPropagation();
          if (ev.key === "Escape") editor.finishNote(id, null);
          else if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) editor.finishNote(id, ev.target.value);
        },
        onBlur: (ev) => editor.finishNote(id, ev.target.value),
      })]);
    };
  },
}));

// Editor methods for notes and groups.
export const notesAndGroups = {
  // --- sticky notes

  addNote() {
    if (this.readonly) return;
    const rect = this.flow.vueFlowRef.value?.getBoundingClientRect();
    if (!rect) return;
    const p = this.flow.screenToFlowCoordinate({ x: rect.left + rect.width / 2, y: rect.top + rect.height / 2 });
    const taken = new Set((this.exportGraph().notes || []).map((n) => n.id));
    const id = freshId("note", taken);
    const position = { x: Math.round(p.x - NOTE_SIZE.width / 2), y: Math.round(p.y - NOTE_SIZE.height / 2) };
    this.hasNotes = true;
    const node = this.flowNode({ id: NOTE_PREFIX + id, kind: NOTE_KIND, text: "", position });
    this.flow.addNodes([{ ...node, data: { ...node.data, editing: true } }]);
  },

  finishNote(flowId, text) {
    const node = this.flow.findNode(flowId);
    if (!node || !node.data.editing) return;
    if (text === null || text === node.data.spec.text) {
      node.data = { ...node.data, editing: false };
      return;
    }
    node.data = { ...node.data, spec: markRaw({ ...node.data.spec, text: String(text).slice(0, 10000) }), editing: false };
    this.scheduleCommit("edit");
  },

  // --- groups

  // The nodes and notes wholly inside a group (not selected ones: Vue Flow drags those itself).
  groupMembers(group) {
    const box = { x: group.position.x, y: group.position.y, w: group.data.spec.width, h: group.data.spec.height };
    const members = [];
    for (const n of this.flow.nodes.value) {
      if (isGroup(n) || n.selected) continue;
      const w = n.dimensions.width || CARD.width;
      const hgt = n.dimensions.height || CARD.base;
      if (n.position.x >= box.x && n.position.y >= box.y && n.position.x + w <= box.x + box.w
          && n.position.y + hgt <= box.y + box.h) members.push([n, { ...n.position }]);
    }
    return { id: group.id, from: { ...group.position }, members };
  },

  // Ctrl+G / the toolbar: a group framing the selected nodes (or, with none selected, an empty one at the centre).
  addGroup() {
    if (this.readonly) return;
    const picked = this.flow.getSelectedNodes.value.filter((n) => !isGroup(n));
    let box;
    if (picked.length) {
      const xs = picked.map((n) => n.position.x);
      const ys = picked.map((n) => n.position.y);
      const right = Math.max(...picked.map((n) => n.position.x + (n.dimensions.width || CARD.width)));
      const bottom = Math.max(...picked.map((n) => n.position.y + (n.dimensions.height || CARD.base)));
      box = { x: Math.min(...xs) - GROUP_PAD, y: Math.min(...ys) - GROUP_PAD * 1.5 };
      box.width = right - box.x + GROUP_PAD;
      box.height = bottom - box.y + GROUP_PAD;
    } else {
      const rect = this.flow.vueFlowRef.value?.getBoundingClientRect();
      if (!rect) return;
      const p = this.flow.screenToFlowCoordinate({ x: rect.left + rect.width / 2, y: rect.top + rect.height / 2 });
      box = { x: p.x - 150, y: p.y - 100, width: 300, height: 200 };
    }
    const taken = new Set((this.exportGraph().groups || []).map((g) => g.id));
    const id = freshId("group", taken);
    this.hasGroups = true;
    const node = this.flowNode({
      id: GROUP_PREFIX + id, kind: GROUP_KIND, label: "",
      position: { x: Math.round(box.x), y: Math.round(box.y) }, width: Math.round(box.width), height: Math.round(box.height),
    });
    this.flow.addNodes([{ ...node, data: { ...node.data, editing: true } }]);
  },

  finishGroup(flowId, label) {
    const node = this.flow.findNode(flowId);
    if (!node || !node.data.editing) return;
    if (label === null || label === node.data.spec.label) {
      node.data = { ...node.data, editing: false };
      return;
    }
    node.data = { ...node.data, spec: markRaw({ ...node.data.spec, label: String(label).slice(0, 200) }), editing: false };
    this.scheduleCommit("edit");
  },
};
