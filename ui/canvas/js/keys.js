// The canvas' keyboard shortcuts (js/overlays.js SHORTCUTS is the sheet that lists them).
import { isEditable } from "graphflow-canvas/util.js";

// Editor methods.
export const keys = {
  closeOverlays() {
    const open = !!(this.menu.value || this.quick.value || this.sheet.value || this.output.value);
    this.output.value = null;
    this.menu.value = null;
    this.quick.value = null;
    this.sheet.value = false;
    return open;
  },

  keydown(event) {
    if (!this.active || isEditable(event.target)) return;
    const mod = event.ctrlKey || event.metaKey;
    if (this.readonly) {
      // a stored version: looking only (fit, minimap, theme, the sheet), nothing that edits
      const look = { "?": () => { this.sheet.value = !this.sheet.value; }, escape: () => this.closeOverlays(),
        f: () => this.fitView(), m: () => this.toggleMinimap(), t: () => this.toggleTheme() };
      const act = !mod && !event.altKey && look[event.key.toLowerCase()];
      if (act) { event.preventDefault(); act(); }
      return;
    }
    if (!mod) {
      if (event.altKey) return;
      const plain = {
        "?": () => { this.sheet.value = !this.sheet.value; },
        escape: () => this.closeOverlays(),
        l: () => this.autoLayout(),
        f: () => this.fitView(),
        m: () => this.toggleMinimap(),
        t: () => this.toggleTheme(),
        n: () => this.addNote(),
      }[event.key.toLowerCase()];
      if (plain) { event.preventDefault(); plain(); }
      return;
    }
    const key = event.key.toLowerCase();
    const actions = {
      z: () => (event.shiftKey ? this.redo() : this.undo()),
      y: () => this.redo(),
      s: () => this.emit("save", { graph: this.exportGraph(), seq: this.seq }),
      c: () => this.copy(),
      v: () => this.paste(),
      a: () => this.flow.addSelectedNodes(this.flow.nodes.value),
      g: () => this.addGroup(),
      enter: () => this.emit("run", {}),
    };
    if (!actions[key]) return;
    event.preventDefault();
    actions[key]();
  },
};
