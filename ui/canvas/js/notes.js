// Sticky notes and groups: their components and the editor's methods that add and edit them.
import { h, markRaw } from "vue";
import { CARD, editBox, freshId, nodeComponent } from "graphflow-canvas/util.js";

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

const NOTE_CHARS = 10000;
const GROUP_LABEL_CHARS = 200;

export const GroupNode = nodeComponent("GraphflowGroup", (editor, id, data) => {
  const head = data.editing
    ? editBox("input", {
      class: "gf-group-input nodrag nopan", value: data.spec.label, "aria-label": "group name", maxlength: GROUP_LABEL_CHARS,
    }, (label) => editor.finishGroup(id, label))
    : h("div", { class: "gf-group-label", onDblclick: (ev) => { ev.stopPropagation(); editor.startEditing(id); } },
      data.spec.label || "Group");
  return h("div", {
    class: "gf-group", "data-group-id": data.spec.id, "data-testid": "group",
    style: { width: `${data.spec.width}px`, height: `${data.spec.height}px` },
  }, [head]);
});

export const NoteNode = nodeComponent("GraphflowNote", (editor, id, data) => {
  const attrs = { class: "gf-note", "data-note-id": data.spec.id, "data-testid": "note" };
  if (!data.editing) {
    return h("div", { ...attrs, onDblclick: (ev) => { ev.stopPropagation(); editor.startEditing(id); } },
      data.spec.text || h("span", { class: "gf-note-empty" }, "Double-click to write"));
  }
  return h("div", attrs, [editBox("textarea", {
    class: "gf-note-input nodrag nopan nowheel", value: data.spec.text, "aria-label": "note text",
  }, (text) => editor.finishNote(id, text), (ev) => ev.key === "Enter" && (ev.ctrlKey || ev.metaKey))]);
});

// Editor methods for notes and groups.
// A fresh id among a graph's notes or groups (absent: none yet).
function freshIn(items, prefix) {
  return freshId(prefix, new Set((items || []).map((item) => item.id)));
}

export const notesAndGroups = {
  // --- sticky notes

  addNote() {
    if (this.readonly) return;
    const p = this.viewCentre();
    if (!p) return;
    const id = freshIn(this.exportGraph().notes, "note");
    const position = { x: Math.round(p.x - NOTE_SIZE.width / 2), y: Math.round(p.y - NOTE_SIZE.height / 2) };
    this.hasNotes = true;
    this.addEditing(this.flowNode({ id: NOTE_PREFIX + id, kind: NOTE_KIND, text: "", position }));
  },

  finishNote(flowId, text) {
    this.finishField(flowId, "text", text, NOTE_CHARS);
  },

  // Ends the editing of a note's text or a group's name: null (Escape) or the same value changes nothing.
  finishField(flowId, field, value, limit) {
    const node = this.flow.findNode(flowId);
    if (!node || !node.data.editing) return;
    if (value === null || value === node.data.spec[field]) {
      node.data = { ...node.data, editing: false };
      return;
    }
    node.data = { ...node.data, spec: markRaw({ ...node.data.spec, [field]: String(value).slice(0, limit) }), editing: false };
    this.scheduleCommit("edit");
  },

  // A new note or group, its text or name being edited.
  addEditing(node) {
    this.flow.addNodes([{ ...node, data: { ...node.data, editing: true } }]);
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
      const p = this.viewCentre();
      if (!p) return;
      box = { x: p.x - 150, y: p.y - 100, width: 300, height: 200 };
    }
    const id = freshIn(this.exportGraph().groups, "group");
    this.hasGroups = true;
    this.addEditing(this.flowNode({
      id: GROUP_PREFIX + id, kind: GROUP_KIND, label: "",
      position: { x: Math.round(box.x), y: Math.round(box.y) }, width: Math.round(box.width), height: Math.round(box.height),
    }));
  },

  finishGroup(flowId, label) {
    this.finishField(flowId, "label", label, GROUP_LABEL_CHARS);
  },
};
