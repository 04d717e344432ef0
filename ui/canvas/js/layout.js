// Automatic layout: layered, left to right (dagre, vendored; see vendor/VENDORED.md).
//
// Pure: sizes and edges in, top-left positions out. The editor applies them as one undoable edit.
import dagre from "@dagrejs/dagre";

const GAP = { nodes: 36, ranks: 90, margin: 0 };
// dagre's default ranker (network simplex) gives the tidiest layers but is the slowest part;
// above this many nodes the tight-tree ranker keeps a 1,000-node layout well under a second.
const SIMPLEX_UP_TO = 400;

// nodes: [{id, width, height}], edges: [{source, target}] -> Map(id -> {x, y}), rounded to whole pixels.
// Nodes of separate components are laid out side by side in one graph (dagre handles that), and
// edges between unknown nodes are ignored.
export function layeredLayout(nodes, edges) {
  const g = new dagre.graphlib.Graph({ multigraph: true });
  g.setGraph({
    rankdir: "LR", nodesep: GAP.nodes, ranksep: GAP.ranks, marginx: GAP.margin, marginy: GAP.margin,
    ranker: nodes.length > SIMPLEX_UP_TO ? "tight-tree" : "network-simplex",
  });
  g.setDefaultEdgeLabel(() => ({}));
  const known = new Set();
  for (const n of nodes) {
    known.add(n.id);
    g.setNode(n.id, { width: Math.max(1, n.width), height: Math.max(1, n.height) });
  }
  edges.forEach((e, i) => {
    if (known.has(e.source) && known.has(e.target) && e.source !== e.target) g.setEdge(e.source, e.target, {}, `e${i}`);
  });
  dagre.layout(g);
  const positions = new Map();
  for (const n of nodes) {
    const placed = g.node(n.id); // dagre gives centres
    positions.set(n.id, { x: Math.round(placed.x - placed.width / 2), y: Math.round(placed.y - placed.height / 2) });
  }
  return positions;
}

// A graph saved without positions (every node at the same point, 0,0 by default) is laid out when it opens.
export function needsLayout(nodes) {
  if (nodes.length < 2) return false;
  const at = (n) => `${Number(n.position?.x) || 0},${Number(n.position?.y) || 0}`;
  const first = at(nodes[0]);
  return nodes.every((n) => at(n) === first);
}
