// Quick add: the searchable list of kinds opened by a double click on the canvas or an edge dropped on
// empty space (rendered by js/overlays.js quickAddView).
import { portTypesCompatible } from "graphflow-canvas/ports.js";
import { paletteMatches } from "graphflow-canvas/palette.js";
import { CARD } from "graphflow-canvas/util.js";

// Editor methods.
export const quickAdd = {
  // at: the point in the flow where the node goes; from: the handle an edge was dragged from, if any
  openQuick(clientX, clientY, from) {
    if (this.readonly) return;
    const rect = this.flow.vueFlowRef.value?.getBoundingClientRect();
    if (!rect) return;
    const at = this.flow.screenToFlowCoordinate({ x: clientX, y: clientY });
    const x = Math.min(Math.max(0, clientX - rect.left), Math.max(0, rect.width - 240));
    const y = Math.min(Math.max(0, clientY - rect.top), Math.max(0, rect.height - 280));
    this.menu.value = null;
    this.quick.value = { x, y, at, from: from || null, query: "", active: 0 };
  },

  // The kinds to offer: every kind, or (an edge dropped) those with a port the edge can connect to,
  // one entry per fitting port; filtered by the words typed, as the palette is.
  quickChoices() {
    const quick = this.quick.value;
    if (!quick) return [];
    const kinds = [...this.kinds.values()].filter((k) => paletteMatches(k, quick.query));
    if (!quick.from) return kinds.map((kind) => ({ kind, port: null }));
    const node = this.flow.findNode(quick.from.nodeId);
    const fromSource = quick.from.type === "source";
    const list = node ? node.data.ports[fromSource ? "outputs" : "inputs"] : [];
    const port = list.find((p) => p.name === quick.from.id);
    if (!port) return [];
    const choices = [];
    for (const kind of kinds) {
      const candidates = fromSource ? kind.inputs || [] : kind.outputs || [];
      for (const p of candidates) {
        const fits = fromSource ? portTypesCompatible(port.type, p.type) : portTypesCompatible(p.type, port.type);
        if (fits) choices.push({ kind, port: p.name, portLabel: `${fromSource ? "→" : "←"} ${p.name}: ${p.type}` });
      }
    }
    return choices;
  },

  quickPick(choice) {
    const quick = this.quick.value;
    this.quick.value = null;
    if (!quick || !choice) return;
    const fromSource = quick.from?.type === "source";
    // the new card's input edge (or output edge, dragged from an input) sits at the point
    const x = quick.from && !fromSource ? quick.at.x - CARD.width : quick.at.x;
    const id = this.addNode(choice.kind.kind, { x: Math.round(x), y: Math.round(quick.at.y - CARD.firstHandle) });
    if (!id || !quick.from) return;
    const connection = fromSource
      ? { source: quick.from.nodeId, sourceHandle: quick.from.id, target: id, targetHandle: choice.port }
      : { source: id, sourceHandle: choice.port, target: quick.from.nodeId, targetHandle: quick.from.id };
    this.connect(connection);
  },
};
