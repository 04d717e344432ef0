// The palette of node kinds (search, drag onto the canvas, double click to add at the centre).
import { h } from "vue";

const KIND_MIME = "application/x-graphflow-kind";

export function paletteMatches(kind, query) {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  const text = [kind.kind, kind.title, kind.description, kind.category].filter(Boolean).join(" ").toLowerCase();
  return words.every((word) => text.includes(word));
}

export function paletteView(editor, kinds) {
  const query = editor.paletteQuery.value;
  const shown = query ? kinds.filter((kind) => paletteMatches(kind, query)) : kinds;
  const groups = new Map();
  for (const kind of shown) {
    const category = kind.category || "other";
    if (!groups.has(category)) groups.set(category, []);
    groups.get(category).push(kind);
  }
  const children = [h("input", {
    class: "gf-palette-search",
    key: "search",
    type: "search",
    placeholder: "Search kinds",
    "aria-label": "search node kinds",
    "data-testid": "palette-search",
    value: query,
    onInput: (ev) => { editor.paletteQuery.value = ev.target.value; },
    onKeydown: (ev) => {
      if (ev.key === "Enter" && shown.length) { editor.addAtCentre(shown[0].kind); editor.paletteQuery.value = ""; }
      if (ev.key === "Escape") editor.paletteQuery.value = "";
      ev.stopPropagation(); // typing here is not a canvas shortcut (Delete, Ctrl+Z, ...)
    },
  })];
  if (!shown.length) {
    children.push(h("div", { class: "gf-palette-none", key: "none", "data-testid": "palette-none" },
      `No kind matches "${query}"`));
  }
  for (const [category, members] of groups) {
    children.push(h("div", { class: "gf-palette-category", key: `c:${category}` }, category));
    for (const kind of members) {
      children.push(h("div", {
        class: "gf-palette-item",
        key: `k:${kind.kind}`,
        draggable: "true",
        title: kind.description || kind.title,
        "data-palette-kind": kind.kind,
        onDragstart: (ev) => {
          editor.draggedKind = kind.kind;
          ev.dataTransfer.setData(KIND_MIME, kind.kind);
          ev.dataTransfer.effectAllowed = "copy";
        },
        onDblclick: () => editor.addAtCentre(kind.kind),
      }, kind.title || kind.kind));
    }
  }
  return h("aside", { class: "gf-palette", "aria-label": "node kinds" }, children);
}

// Editor methods: a kind dropped from the palette, or added at the centre of the view.
export const palette = {
  drop(event) {
    const kind = event.dataTransfer?.getData(KIND_MIME) || this.draggedKind;
    this.draggedKind = null;
    if (!kind || !this.kinds.has(kind)) return;
    event.preventDefault();
    const p = this.flow.screenToFlowCoordinate({ x: event.clientX, y: event.clientY });
    this.addNode(kind, { x: Math.round(p.x - 80), y: Math.round(p.y - 20) });
  },

  addAtCentre(kindName) {
    const p = this.viewCentre();
    if (!p) return;
    this.addNode(kindName, { x: Math.round(p.x - 80), y: Math.round(p.y - 20) });
  },
};
