// Edges: a spec as a Vue Flow edge, with its label (a condition, a router's route) and run state class.
import { markRaw } from "vue";
import { MarkerType } from "@vue-flow/core";
import { truncate } from "graphflow-canvas/util.js";

const EDGE_LABEL_CHARS = 40;

// What an edge says on the canvas: its condition expression, else the route it leaves a router by.
function edgeLabel(spec, sourcePort, sourceKind) {
  if (spec.condition) return `if ${spec.condition}`;
  if (sourceKind === "router") return String(sourcePort);
  return null;
}

// Editor methods.
export const edges = {
  // sourceKind: the kind of the edge's source node, when it is not on the canvas yet
  flowEdge(spec, sourceKind) {
    const { id, source, target, source_port: sourcePort = "out", target_port: targetPort = "in", ...rest } = spec;
    const edge = {
      id, source, target, sourceHandle: sourcePort, targetHandle: targetPort,
      markerEnd: MarkerType.ArrowClosed,
      data: { spec: markRaw(rest) },
    };
    const label = edgeLabel(rest, sourcePort, sourceKind ?? this.flow.findNode(source)?.data.spec.kind);
    if (label) {
      // an SVG text node (Vue Flow's EdgeText): escaped like every other label
      edge.label = truncate(label, EDGE_LABEL_CHARS);
      edge.labelBgPadding = [4, 2];
      edge.labelBgBorderRadius = 3;
      edge.class = "gf-edge-labelled";
    }
    this.styleEdge(edge, this.edgeStates.get(id));
    return edge;
  },

  styleEdge(edge, state) {
    edge.class = [state ? `gf-edge-${state}` : "", edge.label ? "gf-edge-labelled" : ""].filter(Boolean).join(" ");
    edge.animated = state === "taken";
  },
};
