// The graphflow canvas: a node-graph editor built on Vue Flow, mounted as a NiceGUI element.
//
// Python talks to it through run_method (the `methods` at the bottom; calls that arrive before
// Vue Flow is ready are queued) and hears back through typed events (graphChange, select,
// connectRefused, save, run). The graph that Python receives is exported from the canvas' own
// state after every edit, so the canvas is the single source of truth while it is open.
//
// Untrusted text (labels, errors, problems) is only ever rendered as Vue text nodes and
// attribute values: never v-html or innerHTML.
import { h, markRaw, shallowRef, defineComponent, inject, provide, nextTick } from "vue";
import { VueFlow, Handle, Position, ConnectionMode, MarkerType, useVueFlow } from "@vue-flow/core";
import { Background } from "@vue-flow/background";
import { ControlButton, Controls } from "@vue-flow/controls";
import { MiniMap } from "@vue-flow/minimap";
import { loadResource } from "../../static/utils/resources.js";
import { layeredLayout, needsLayout } from "graphflow-canvas/layout.js";
import { contextMenu, outputView, quickAddView, shortcutSheet, toolbarView } from "graphflow-canvas/overlays.js";
import { machineView } from "graphflow-canvas/machine.js";

const CANVAS = Symbol("graphflow-canvas");
const KIND_MIME = "application/x-graphflow-kind";
const HISTORY_LIMIT = 100;
const LAZY_ABOVE = 200; // nodes: above this, render only what is in view (lazy=null means automatic)
const LAZY_FIT_ZOOM = 0.5; // a lazy canvas fits the graph no smaller than this...
const LAZY_MIN_ZOOM = 0.25; // ...and zooms out no further: each step out renders more nodes at once
// Nodes added per task while a large graph loads when every node is rendered (lazy off). One task
// rendering a thousand nodes keeps the main thread busy for seconds: NiceGUI's socket then misses
// its pings, and a client that does not come back within reconnect_timeout is dropped and the
// page reloads (seen with 1,000 nodes on 2 busy cores).
const LOAD_CHUNK = 150;
const PATCH_LIMIT = 50; // nodes added or removed by one undo/redo that are patched in place
// Card geometry (canvas.css), to estimate a node's size and handle positions before it is measured.
// Every card has the same width (a label, error or problem wraps and is clamped instead of widening it).
const CARD = { width: 150, base: 46, row: 20.2, firstHandle: 46.3, labelLine: 16, statusRow: 17, handle: 10 };
const LABEL_LINE_CHARS = 23; // characters of a bold label that fit on one line of a card, roughly
const ERROR_CHARS = 400; // an error's text on the card (two lines show; the tooltip has it all)
const MINIMAP_ABOVE = 40; // nodes: the minimap is shown for larger graphs only (a small one fits in view)...
const PREFS = "graphflow-canvas"; // ...unless toggled (M): that choice and the theme are kept in localStorage
const FIT_PADDING = 32; // px
const FIT_MAX_ZOOM = 1; // a small graph is shown at its natural size, not blown up
// ...and a large one no smaller than this, where a card's 12 px text is still about 9 px: one that does
// not fit then opens at its start (inputs on the left), the minimap showing the rest.
const FIT_MIN_ZOOM = 0.75;
const EDGE_LABEL_CHARS = 40;
// A colour and a Material icon (NiceGUI ships the font) per kind category; plugins' own categories get "other".
const CATEGORY_LOOK = {
  io: { icon: "swap_horiz", colour: "#0284c7" },
  core: { icon: "functions", colour: "#475569" },
  routing: { icon: "call_split", colour: "#d97706" },
  patterns: { icon: "account_tree", colour: "#0d9488" },
  model: { icon: "psychology", colour: "#7c3aed" },
  integration: { icon: "cloud", colour: "#2563eb" },
  other: { icon: "extension", colour: "#64748b" },
};
const ID_BAD_CHARS = /[^A-Za-z0-9_.-]/g;
// graphflow.events.NodeStatus, plus "degraded" (tests/ui/test_node_status.py keeps them the same)
const STATUS_TEXT = {
  pending: "pending", running: "running", succeeded: "succeeded", failed: "failed", skipped: "skipped",
  cancelled: "cancelled", retrying: "retrying", waiting: "waiting", degraded: "degraded",
};
let instances = 0;

// The engine's wiring rule (graphflow/wiring.py port_types_compatible).
export function portTypesCompatible(source, target) {
  return source === target || source === "any" || target === "any" || (source === "integer" && target === "number");
}

const JSON_TYPES = new Set(["string", "number", "integer", "boolean", "object", "array"]);

function fieldType(schema) {
  const kind = schema && typeof schema === "object" ? schema.type : null;
  return typeof kind === "string" && JSON_TYPES.has(kind) ? kind : "any";
}

// graphflow/wiring.py schema_mismatch: two object ports' JSON schemas, one level deep.
export function schemaMismatch(source, target) {
  const given = source.properties || {};
  const wanted = target.properties || {};
  for (const name of target.required || []) {
    if (!Object.hasOwn(given, name)) return `field '${name}' is missing`;
  }
  for (const [name, prop] of Object.entries(wanted)) {
    if (Object.hasOwn(given, name) && !portTypesCompatible(fieldType(given[name]), fieldType(prop))) {
      return `field '${name}' is ${fieldType(given[name])}, not ${fieldType(prop)}`;
    }
  }
  return null;
}

function schemaName(port) {
  const title = port.json_schema && port.json_schema.title;
  return typeof title === "string" && title ? title : port.type;
}

const SCHEMA_TIP_CHARS = 2000;

// A port's tooltip: its name and type; a model port adds its JSON schema.
function portTitle(port) {
  const head = `${port.name}: ${schemaName(port)}${port.multi ? " (many)" : ""}`;
  if (!port.json_schema) return head;
  return `${head}\n${truncate(JSON.stringify(port.json_schema, null, 2), SCHEMA_TIP_CHARS)}`;
}

function freshId(prefix, taken) {
  let base = String(prefix || "node").replace(ID_BAD_CHARS, "_");
  if (!/^[A-Za-z_]/.test(base)) base = `n_${base}`;
  let n = 1;
  while (taken.has(`${base}_${n}`)) n += 1;
  return `${base}_${n}`;
}

function isEditable(target) {
  return !!target && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.nodeName));
}

function loadPrefs() {
  try {
    return JSON.parse(window.localStorage.getItem(PREFS) || "{}") || {};
  } catch {
    return {};
  }
}

function savePrefs(changes) {
  try {
    window.localStorage.setItem(PREFS, JSON.stringify({ ...loadPrefs(), ...changes }));
  } catch {
    // storage refused (private mode, quota): the choice lasts for this page only
  }
}

function clone(value) {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}

// The rule of graphflow/formatting.py duration(): "0.4 ms", "123 ms", "1.23 s".
function formatDuration(seconds) {
  if (seconds === null || seconds === undefined) return null;
  if (Math.abs(seconds) >= 1) return `${seconds.toFixed(2)} s`;
  const ms = seconds * 1000;
  return Math.abs(ms) < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;
}

const PREVIEW_LINES = 3;
const PREVIEW_CHARS = 200;
// The card's preview of an output (Python sends it whole, as text): JSON compacted onto as few lines as
// it takes, so that a small object costs one line; then its first lines.
function outputPreview(text) {
  if (/^[[{]/.test(text)) {
    try {
      return firstLines(JSON.stringify(JSON.parse(text)).replace(/,"/g, ', "').replace(/":/g, '": '));
    } catch {
      // cut (too large) or not JSON: its first lines as they are
    }
  }
  return firstLines(text);
}

function firstLines(text) {
  const lines = text.split("\n");
  const shown = truncate(lines.slice(0, PREVIEW_LINES).join("\n"), PREVIEW_CHARS);
  return lines.length > PREVIEW_LINES && !shown.endsWith("…") ? `${shown}\n…` : shown;
}

function truncate(text, limit) {
  return text.length > limit ? `${text.slice(0, limit - 1)}…` : text;
}

function sameData(a, b) {
  return a.status === b.status && a.problems === b.problems && a.heat === b.heat && a.kindTitle === b.kindTitle
    && !a.editing && JSON.stringify(a.spec) === JSON.stringify(b.spec) && JSON.stringify(a.ports) === JSON.stringify(b.ports);
}

// What a status shows: an optional node that failed and went on with its default output succeeded
// for the scheduler, but it is "degraded" on the card (status "degraded", or degraded: true).
function shownStatus(status) {
  if (!status) return null;
  return status.degraded || status.status === "degraded" ? "degraded" : String(status.status);
}

function hasFailures(heat) {
  return !!heat && heat.success_rate !== undefined && heat.success_rate !== null && Number(heat.success_rate) < 1;
}

function percentOk(rate) {
  const x = Number(rate) * 100;
  return x < 100 ? Math.min(99, Math.round(x)) : 100; // never "100% ok" for a node that failed at all
}

// Slow is not failed: heat runs from pale blue (fast) to deep violet (the slowest node), never to red,
// which means failure everywhere on the canvas (a failing node gets a red ring and chip instead).
export function heatColour(heat) {
  const x = Math.max(0, Math.min(1, Number(heat) || 0));
  return `hsl(${Math.round(210 + 55 * x)}, 75%, ${Math.round(78 - 38 * x)}%)`;
}

export function categoryLook(category) {
  return CATEGORY_LOOK[category] || CATEGORY_LOOK.other;
}

// A node's size and handle positions before the browser has measured it. Vue Flow culls nodes by
// their size in lazy mode and draws edges from handle bounds: with zeros, every node counts as
// visible (all are rendered) and edges to nodes off screen have nowhere to start. The half
// pixel keeps an estimate from ever equalling a measured size, so a rendered node is always
// re-measured (Vue Flow skips handle measurement when the size did not change).
function estimatedGeometry(id, label, ports, hasStatus) {
  const rows = Math.max(ports.inputs.length, ports.outputs.length);
  const width = CARD.width + 0.5;
  const labelExtra = String(label).length > LABEL_LINE_CHARS ? CARD.labelLine : 0;
  const top = CARD.firstHandle + labelExtra + (hasStatus ? CARD.statusRow : 0);
  const bounds = (list, type, x) => list.map((p, i) => ({
    id: p.name, nodeId: id, type, position: type === "source" ? Position.Right : Position.Left,
    x, y: top + i * CARD.row, width: CARD.handle, height: CARD.handle,
  }));
  return {
    dimensions: { width, height: CARD.base + labelExtra + rows * CARD.row + (hasStatus ? CARD.statusRow : 0) },
    handleBounds: { source: bounds(ports.outputs, "source", width - 3), target: bounds(ports.inputs, "target", -4) },
  };
}

// ---------------------------------------------------------------- node component

function portRow(editor, port, direction) {
  const isInput = direction === "in";
  return h("div", { class: ["gf-port", `gf-port-${direction}`, port.inferred && "gf-port-inferred"], key: port.name }, [
    h(Handle, {
      id: port.name,
      type: isInput ? "target" : "source",
      position: isInput ? Position.Left : Position.Right,
      isValidConnection: editor.isValidConnection,
      class: ["gf-handle", `gf-type-${port.type}`],
      "data-port": port.name,
      "data-port-type": port.type,
      "data-port-dir": direction,
    }),
    h("span", { class: "gf-port-name", title: portTitle(port), "data-port-schema": schemaName(port) },
      port.multi ? `${port.name} ⋯` : port.name),
  ]);
}

function statusRow(editor, status) {
  if (!status) return null;
  const shown = shownStatus(status);
  const items = [h("span", { class: ["gf-badge", `gf-badge-${shown}`], "data-testid": "status" },
    STATUS_TEXT[shown] || shown)];
  if (status.attempts > 1) items.push(h("span", { class: "gf-attempts", "data-testid": "attempts" }, `×${status.attempts}`));
  if (status.breaker) {
    items.push(h("span", { class: ["gf-breaker", `gf-breaker-${status.breaker}`], "data-testid": "breaker" },
      `breaker ${String(status.breaker).replace("_", "-")}`));
  }
  if (Array.isArray(status.progress)) {
    const [done, failed, total] = status.progress;
    items.push(h("span", { class: "gf-progress", "data-testid": "progress" }, `${done}/${total}${failed ? ` (${failed} failed)` : ""}`));
  }
  const duration = formatDuration(status.duration);
  if (duration) items.push(h("span", { class: "gf-duration" }, duration));
  else if (status.tickFrom !== undefined && status.status === "running") {
    // live: counted on from the elapsed time Python sent (editor.now ticks while any node runs)
    const seconds = Math.max(0, (editor.now.value - status.tickFrom) / 1000);
    items.push(h("span", { class: "gf-elapsed", "data-testid": "elapsed" }, seconds < 60 ? `${seconds.toFixed(1)} s`
      : `${Math.floor(seconds / 60)} min ${String(Math.floor(seconds % 60)).padStart(2, "0")} s`));
  }
  if (status.tokens) {
    const spent = status.cost ? ` · $${Number(status.cost).toFixed(4)}` : "";
    items.push(h("span", { class: "gf-usage", "data-testid": "usage" }, `${status.tokens} tok${spent}`));
  }
  return h("div", { class: "gf-status-row" }, items);
}

// An agent's steps and tool calls, one text line each (never HTML: h() escapes text children).
const STEP_LINES = 12;
function stepsView(status) {
  if (!status || !Array.isArray(status.steps) || !status.steps.length) return null;
  const lines = status.steps.slice(-STEP_LINES);
  return h("div", { class: "gf-steps nodrag", "data-testid": "steps" }, [
    status.steps.length > lines.length ? h("div", { class: "gf-step-more" }, `… ${status.steps.length - lines.length} earlier`) : null,
    ...lines.map((line, i) => h("div", {
      key: i, class: ["gf-step", String(line).startsWith("  ") ? "gf-step-call" : "gf-step-turn",
        String(line).endsWith("... running") && "gf-step-running"],
      title: String(line), "data-testid": "step-line",
    }, truncate(String(line).trim(), 90))),
  ]);
}

function heatRow(heat) {
  if (!heat) return null;
  const known = (v) => v !== undefined && v !== null;
  const timing = [];
  if (known(heat.p50)) timing.push(`p50 ${formatDuration(heat.p50)}`);
  if (known(heat.p95)) timing.push(`p95 ${formatDuration(heat.p95)}`);
  const outcome = [];
  if (known(heat.success_rate)) {
    // a node that failed in some runs is a problem whatever its speed: a red chip (and a red ring on the card)
    const failing = hasFailures(heat);
    outcome.push(h("span", {
      class: failing ? "gf-heat-ok" : null, "data-testid": "success-rate",
      title: failing ? "failed in some runs" : null,
    }, `${percentOk(heat.success_rate)}% ok`));
  }
  if (heat.tokens_per_run) {
    outcome.push(h("span", { "data-testid": "heat-tokens" }, `${Math.round(Number(heat.tokens_per_run))} tok/run`));
  }
  if (known(heat.cost_per_1k)) outcome.push(h("span", {}, `$${Number(heat.cost_per_1k).toFixed(2)}/1k`));
  return h("div", { class: "gf-heat", "data-testid": "heat" }, [
    timing.length ? h("div", {}, timing.join(" · ")) : null,
    outcome.length ? h("div", { class: "gf-heat-outcome" }, outcome) : null,
  ]);
}

function labelView(editor, id, data) {
  const text = data.spec.label || id;
  if (!data.editing) {
    return h("span", { class: "gf-label", title: text, onDblclick: (ev) => { ev.stopPropagation(); editor.startEditing(id); } }, text);
  }
  return h("input", {
    class: "gf-label-input nodrag nopan",
    value: data.spec.label || "",
    placeholder: id,
    onVnodeMounted: ({ el }) => { el.focus(); el.select(); },
    onKeydown: (ev) => {
      ev.stopPropagation();
      if (ev.key === "Enter") editor.finishEditing(id, ev.target.value);
      else if (ev.key === "Escape") editor.finishEditing(id, null);
    },
    onBlur: (ev) => editor.finishEditing(id, ev.target.value),
  });
}

const GraphflowNode = markRaw(defineComponent({
  name: "GraphflowNode",
  inheritAttrs: false, // Vue Flow passes position, dimensions, ...: keep them off the DOM
  props: { id: { type: String, required: true }, data: { type: Object, required: true } },
  setup(props) {
    const editor = inject(CANVAS);
    return () => {
      const { id, data } = props;
      const status = data.status;
      const shown = shownStatus(status);
      const failing = hasFailures(data.heat);
      const attrs = {
        style: { "--gf-category": data.look.colour },
        "data-category": data.category,
        class: ["gf-node", status && `gf-status-${shown}`, data.problems && "gf-has-problems", failing && "gf-heat-problem",
          data.spec.disabled && "gf-disabled"],
        "data-node-id": id,
        "data-kind": data.spec.kind,
      };
      if (status) attrs["data-status"] = status.status;
      if (data.spec.disabled) attrs["data-disabled"] = "true";
      if (shown === "degraded") attrs["data-degraded"] = "true";
      if (failing) attrs["data-failing"] = "true";
      if (status && status.breaker) attrs["data-breaker"] = status.breaker;
      if (status && status.attempts) attrs["data-attempts"] = String(status.attempts);
      if (data.heat) attrs.style["--gf-heat"] = heatColour(data.heat.heat);
      const error = status && status.error ? String(status.error) : null;
      // red: the node failed or is failing; amber: degraded; grey: a retry's error, then it succeeded
      const errorClass = shown === "degraded" ? "gf-error-degraded" : shown === "succeeded" ? "gf-error-past" : null;
      return h("div", attrs, [
        h("div", { class: "gf-node-head" }, [
          h("span", { class: "gf-icon material-icons", "aria-hidden": "true", "data-testid": "kind-icon" }, data.look.icon),
          h("div", { class: "gf-head-text" }, [labelView(editor, id, data),
            h("span", { class: "gf-kind" }, data.spec.disabled ? `${data.kindTitle} · disabled` : data.kindTitle)]),
        ]),
        statusRow(editor, status),
        h("div", { class: "gf-ports" }, [
          h("div", { class: "gf-inputs" }, data.ports.inputs.map((p) => portRow(editor, p, "in"))),
          h("div", { class: "gf-outputs" }, data.ports.outputs.map((p) => portRow(editor, p, "out"))),
        ]),
        stepsView(status),
        machineView(editor, id, data, status),
        status && status.text && h("div", {
          class: ["gf-node-text", status.output !== undefined && "gf-clickable"], "data-testid": "node-text",
          onClick: status.output !== undefined ? () => editor.showOutput(id) : undefined,
        }, String(status.text)),
        error && h("div", { class: ["gf-error", errorClass], title: error, "data-testid": "error" }, truncate(error, ERROR_CHARS)),
        status && !status.text && status.preview !== undefined && h("div", {
          class: "gf-output nodrag gf-clickable", "data-testid": "output-preview", title: "click for the whole value",
          onClick: () => editor.showOutput(id),
        }, status.preview),
        data.problems && h("ul", { class: "gf-problems", "data-testid": "problems" },
          data.problems.map((message, i) => h("li", { key: i, title: String(message) },
            [h("span", { class: "gf-problem-text" }, String(message))]))),
        heatRow(data.heat),
      ]);
    };
  },
}));

// A sticky note (GraphSpec.notes): its flow id is NOTE_PREFIX + its id, which no node id can be (":" is
// not allowed in one). Its text is a text node; a double click edits it in a textarea.
const NOTE_PREFIX = "note:";
const NOTE_KIND = "\u0000note"; // the kind of a note's entry among the node specs inside applyGraph
const NOTE_SIZE = { width: 180, height: 90 };
const isNote = (flowNode) => flowNode.type === "note";
// A group (GraphSpec.groups): flow id GROUP_PREFIX + its id, drawn under the nodes; dragging it moves
// the nodes and notes that lie wholly inside it when the drag starts.
const GROUP_PREFIX = "group:";
const GROUP_KIND = "\u0000group";
const GROUP_PAD = 24; // px around the selection a new group frames
const isGroup = (flowNode) => flowNode.type === "gfgroup";
const isGraphNode = (flowNode) => flowNode.type === "graphflow";

const GroupNode = markRaw(defineComponent({
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

const NoteNode = markRaw(defineComponent({
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

const NODE_TYPES = markRaw({ graphflow: GraphflowNode, note: NoteNode, gfgroup: GroupNode });

// ---------------------------------------------------------------- editor logic

class Editor {
  constructor(flow, props, emit) {
    this.flow = flow;
    this.emit = emit;
    this.kinds = new Map((props.kinds || []).map((k) => [k.kind, k]));
    this.ready = shallowRef(false);
    this.lazyOption = props.lazy; // true | false | null (automatic)
    this.machineEvents = props.machineEvents === true;
    this.lazy = shallowRef(props.lazy === true);
    this.minimap = shallowRef(false);
    const prefs = loadPrefs();
    this.minimapChoice = prefs.minimap ?? null; // true | false | null (by graph size)
    this.theme = shallowRef(prefs.theme === "dark" ? "dark" : "light");
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

  // --- graph <-> Vue Flow

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
  }

  portsFor(spec) {
    const override = this.portOverrides.get(spec.id);
    const kind = this.kinds.get(spec.kind);
    const inputs = override ? override.inputs : kind ? kind.inputs : [];
    const outputs = override ? override.outputs : kind ? kind.outputs : [];
    return { inputs: [...inputs], outputs: [...outputs] };
  }

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
  }

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
  }

  styleEdge(edge, state) {
    edge.class = [state ? `gf-edge-${state}` : "", edge.label ? "gf-edge-labelled" : ""].filter(Boolean).join(" ");
    edge.animated = state === "taken";
  }

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
  }

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
  }

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
  }

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
  }

  setGraph(graph, ports) {
    if (ports) this.portOverrides = new Map(Object.entries(ports));
    this.statuses.clear();
    this.pendingStatuses.clear();
    this.edgeStates.clear();
    const placed = this.placed(graph);
    this.applyGraph(placed);
    this.undoStack = [JSON.stringify(this.exportGraph())];
    if (placed !== graph) this.emit("graphChange", { graph: this.exportGraph(), reason: "layout" });
    this.redoStack = [];
    this.needsFit = this.flow.nodes.value.length > 0;
    this.emitSelection();
  }

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
  }

  // readable (a graph opening, after a layout): the whole graph when it fits at a readable zoom
  // (FIT_MIN_ZOOM, LAZY_FIT_ZOOM for a lazy one, where fitting a thousand nodes on screen would render
  // every one of them); else its start at that zoom: the left edge (where a left-to-right graph begins),
  // centred vertically if it fits, else its top. Not readable (the fit buttons, F, fit_view()): the
  // whole graph however small (a lazy one no smaller than LAZY_MIN_ZOOM).
  fitView({ readable = false } = {}) {
    const box = this.bounds();
    const view = this.flow.dimensions.value;
    if (!box || !(view.width > 0)) return;
    const minZoom = readable ? (this.lazy.value ? LAZY_FIT_ZOOM : FIT_MIN_ZOOM)
      : (this.lazy.value ? LAZY_MIN_ZOOM : FLOW_OPTIONS.minZoom);
    const pad = FIT_PADDING;
    const fits = Math.min((view.width - 2 * pad) / box.width, (view.height - 2 * pad) / box.height);
    const zoom = Math.max(minZoom, Math.min(FIT_MAX_ZOOM, fits));
    const x = box.width * zoom <= view.width - 2 * pad
      ? (view.width - box.width * zoom) / 2 - box.x * zoom : pad - box.x * zoom;
    const y = box.height * zoom <= view.height - 2 * pad
      ? (view.height - box.height * zoom) / 2 - box.y * zoom : pad - box.y * zoom;
    this.flow.setViewport({ x, y, zoom });
  }

  bounds() {
    const nodes = this.flow.nodes.value;
    if (!nodes.length) return null;
    let [left, top, right, bottom] = [Infinity, Infinity, -Infinity, -Infinity];
    for (const n of nodes) {
      const { x, y } = n.computedPosition || n.position;
      left = Math.min(left, x);
      top = Math.min(top, y);
      right = Math.max(right, x + (n.dimensions.width || CARD.width));
      bottom = Math.max(bottom, y + (n.dimensions.height || CARD.base));
    }
    return { x: left, y: top, width: Math.max(1, right - left), height: Math.max(1, bottom - top) };
  }

  // --- automatic layout (js/layout.js)

  // The graph with every node placed by the layered layout: measured sizes where the card is rendered, else estimated.
  laidOut(graph) {
    const sizes = (spec) => {
      const shown = this.flow.findNode(spec.id);
      if (shown && shown.dimensions.width > 0) return shown.dimensions;
      return estimatedGeometry(spec.id, spec.label || spec.id, this.portsFor(spec), this.statuses.has(spec.id)).dimensions;
    };
    const nodes = graph.nodes || [];
    const positions = layeredLayout(nodes.map((n) => ({ id: n.id, ...sizes(n) })), graph.edges || []);
    return { ...graph, nodes: nodes.map((n) => ({ ...n, position: positions.get(n.id) })) };
  }

  // On demand (the toolbar's Layout button, "L", or Python's auto_layout()): one undoable edit.
  autoLayout() {
    if (this.readonly) return;
    if (this.loading && !this.loading.done) return; // the rest of a large graph is still being added
    const graph = this.exportGraph();
    if (!graph.nodes.length) return;
    this.applyGraph(this.laidOut(graph));
    this.commit("layout");
    this.needsFit = true;
    nextTick(() => this.fitIfNeeded());
  }

  // A graph that arrives without positions (every node on one point) is laid out before it is shown.
  placed(graph) {
    return needsLayout(graph?.nodes || []) ? this.laidOut(graph) : graph;
  }


  showMiniMap(count) {
    const show = this.minimapChoice ?? (this.lazy.value || count > MINIMAP_ABOVE);
    if (this.minimap.value !== show) this.minimap.value = show;
    if (this.empty.value !== (count === 0)) this.empty.value = count === 0;
  }

  // --- history: JSON snapshots of the exported graph

  commit(reason) {
    const graph = this.exportGraph();
    const snapshot = JSON.stringify(graph);
    if (snapshot === this.undoStack[this.undoStack.length - 1]) return;
    this.undoStack.push(snapshot);
    if (this.undoStack.length > HISTORY_LIMIT) this.undoStack.shift();
    this.redoStack = [];
    this.emit("graphChange", { graph, reason });
  }

  scheduleCommit(reason) {
    if (this.commitReason === null) {
      Promise.resolve().then(() => {
        const why = this.commitReason;
        this.commitReason = null;
        this.commit(why);
      });
    }
    this.commitReason = reason;
  }

  restore(snapshot, reason) {
    const graph = JSON.parse(snapshot);
    this.applyGraph(graph);
    this.emit("graphChange", { graph, reason });
    this.emitSelection();
  }

  undo() {
    if (this.undoStack.length < 2) return;
    this.redoStack.push(this.undoStack.pop());
    this.restore(this.undoStack[this.undoStack.length - 1], "undo");
  }

  redo() {
    if (!this.redoStack.length) return;
    const snapshot = this.redoStack.pop();
    this.undoStack.push(snapshot);
    this.restore(snapshot, "redo");
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
    if (placed !== this.initialGraph) this.emit("graphChange", { graph: this.exportGraph(), reason: "layout" });
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
    if (name === "setGraph") this.queue = this.queue.filter(([n]) => n !== "setGraph");
    this.queue.push([name, args]);
    return undefined;
  }

  fitIfNeeded() {
    // the viewport size Vue Flow measured: reading clientWidth here would force a layout of every new node
    if (!this.needsFit || !this.ready.value || !(this.flow.dimensions.value.width > 0)) return;
    if (this.loading && !this.loading.done) return;
    if (!this.flow.nodes.value.every((n) => n.dimensions.width > 0)) return;
    this.needsFit = false;
    this.fitView({ readable: true });
  }

  emitSelection() {
    const ids = this.flow.getSelectedNodes.value.filter(isGraphNode).map((n) => n.id);
    const key = ids.join("\n");
    if (key === this.selection) return;
    this.selection = key;
    this.emit("select", { node_id: ids.length === 1 ? ids[0] : null, node_ids: ids });
  }

  // --- connecting

  refusal(connection) {
    const { source, target, sourceHandle, targetHandle } = connection;
    if (!source || !target) return "connect an output (right) to an input (left)";
    if (source === target) return `a node cannot connect to itself (${source})`;
    const from = this.flow.findNode(source);
    const to = this.flow.findNode(target);
    if (!from || !to) return "unknown node";
    const out = from.data.ports.outputs.find((p) => p.name === sourceHandle);
    const inp = to.data.ports.inputs.find((p) => p.name === targetHandle);
    if (!out) return `${source} has no output '${sourceHandle}'`;
    if (!inp) return `${target} has no input '${targetHandle}'`;
    if (!portTypesCompatible(out.type, inp.type)) {
      return `type mismatch: ${source}.${out.name} gives ${out.type}, ${target}.${inp.name} takes ${inp.type}`;
    }
    const why = out.json_schema && inp.json_schema ? schemaMismatch(out.json_schema, inp.json_schema) : null;
    if (why) {
      return `type mismatch: ${source}.${out.name} gives ${schemaName(out)}, ${target}.${inp.name} takes ${schemaName(inp)}: ${why}`;
    }
    const edges = this.flow.edges.value;
    const into = edges.filter((e) => e.target === target && e.targetHandle === targetHandle);
    if (into.some((e) => e.source === source && e.sourceHandle === sourceHandle)) return "these ports are already connected";
    if (!inp.multi && into.length) return `input ${target}.${inp.name} already has a connection (only a join input takes several)`;
    if (this.reaches(target, source, edges)) return `connecting ${source} to ${target} would make a cycle`;
    return null;
  }

  reaches(start, goal, edges) {
    const next = new Map();
    for (const e of edges) {
      if (!next.has(e.source)) next.set(e.source, []);
      next.get(e.source).push(e.target);
    }
    const seen = new Set([start]);
    const stack = [start];
    while (stack.length) {
      const id = stack.pop();
      if (id === goal) return true;
      for (const t of next.get(id) || []) {
        if (!seen.has(t)) { seen.add(t); stack.push(t); }
      }
    }
    return false;
  }

  connect(connection) {
    const reason = this.refusal(connection);
    if (reason) return this.refuse(reason, connection);
    this.connected = true;
    const id = freshId("e", this.takenEdgeIds());
    this.flow.addEdges([this.flowEdge({
      id, source: connection.source, source_port: connection.sourceHandle,
      target: connection.target, target_port: connection.targetHandle, condition: null,
    })]);
    return undefined;
  }

  connectEnded(event) {
    if (this.connected) return;
    const start = this.flow.connectionStartHandle.value;
    const point = event && "clientX" in event ? event : event?.changedTouches?.[0];
    const under = point ? document.elementFromPoint(point.clientX, point.clientY)?.closest(".vue-flow__handle") : null;
    let end = null;
    if (under) {
      end = { nodeId: under.getAttribute("data-nodeid"), id: under.getAttribute("data-handleid"), type: under.classList.contains("source") ? "source" : "target" };
    } else if (this.flow.connectionEndHandle.value) {
      end = this.flow.connectionEndHandle.value;
    }
    if (start && !end && point && this.onEmptySpace(point)) {
      this.openQuick(point.clientX, point.clientY, { nodeId: start.nodeId, id: start.id, type: start.type });
      return;
    }
    if (!start || !end || !end.nodeId) return;
    if (end.nodeId === start.nodeId && end.id === start.id && end.type === start.type) return; // a click on a handle
    if (end.type === start.type) {
      this.refuse(`connect an output (right) to an input (left), not ${end.type === "source" ? "two outputs" : "two inputs"}`, null);
      return;
    }
    const connection = start.type === "source"
      ? { source: start.nodeId, sourceHandle: start.id, target: end.nodeId, targetHandle: end.id }
      : { source: end.nodeId, sourceHandle: end.id, target: start.nodeId, targetHandle: start.id };
    const reason = this.refusal(connection);
    if (reason) this.refuse(reason, connection);
  }

  onEmptySpace(point) {
    const el = document.elementFromPoint(point.clientX, point.clientY);
    return !!el && !el.closest(".vue-flow__node") && !!el.closest(".vue-flow");
  }

  refuse(reason, connection) {
    this.toast.value = reason;
    clearTimeout(this.toastTimer);
    this.toastTimer = setTimeout(() => { this.toast.value = null; }, 5000);
    this.emit("connectRefused", {
      reason,
      source: connection?.source ?? null, source_port: connection?.sourceHandle ?? null,
      target: connection?.target ?? null, target_port: connection?.targetHandle ?? null,
    });
  }

  // --- editing

  takenIds() {
    return new Set(this.exportGraph().nodes.map((n) => n.id));
  }

  takenEdgeIds() {
    return new Set(this.exportGraph().edges.map((e) => e.id));
  }

  addNode(kindName, position) {
    const kind = this.kinds.get(kindName);
    if (!kind) return null;
    const spec = { id: freshId(kind.kind, this.takenIds()), kind: kind.kind, label: "", config: clone(kind.default_config) ?? {} };
    this.flow.addNodes([this.flowNode({ ...spec, position }, this.portsFor(spec))]);
    return spec.id;
  }

  drop(event) {
    const kind = event.dataTransfer?.getData(KIND_MIME) || this.draggedKind;
    this.draggedKind = null;
    if (!kind || !this.kinds.has(kind)) return;
    event.preventDefault();
    const p = this.flow.screenToFlowCoordinate({ x: event.clientX, y: event.clientY });
    this.addNode(kind, { x: Math.round(p.x - 80), y: Math.round(p.y - 20) });
  }

  addAtCentre(kindName) {
    const rect = this.flow.vueFlowRef.value?.getBoundingClientRect();
    if (!rect) return;
    const p = this.flow.screenToFlowCoordinate({ x: rect.left + rect.width / 2, y: rect.top + rect.height / 2 });
    this.addNode(kindName, { x: Math.round(p.x - 80), y: Math.round(p.y - 20) });
  }

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
  }

  startEditing(id) {
    if (this.readonly) return;
    const node = this.flow.findNode(id);
    if (node) node.data = { ...node.data, editing: true };
  }

  finishEditing(id, label) {
    const node = this.flow.findNode(id);
    if (!node || !node.data.editing) return;
    if (label === null || label === node.data.spec.label) node.data = { ...node.data, editing: false };
    else this.updateNode(id, { label });
  }

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
  }

  finishNote(flowId, text) {
    const node = this.flow.findNode(flowId);
    if (!node || !node.data.editing) return;
    if (text === null || text === node.data.spec.text) {
      node.data = { ...node.data, editing: false };
      return;
    }
    node.data = { ...node.data, spec: markRaw({ ...node.data.spec, text: String(text).slice(0, 10000) }), editing: false };
    this.scheduleCommit("edit");
  }

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
  }

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
  }

  finishGroup(flowId, label) {
    const node = this.flow.findNode(flowId);
    if (!node || !node.data.editing) return;
    if (label === null || label === node.data.spec.label) {
      node.data = { ...node.data, editing: false };
      return;
    }
    node.data = { ...node.data, spec: markRaw({ ...node.data.spec, label: String(label).slice(0, 200) }), editing: false };
    this.scheduleCommit("edit");
  }

  // --- the right-click menu (js/overlays.js contextMenu)

  duplicate(id) {
    const node = this.flow.findNode(id);
    if (!node) return;
    const spec = { ...clone(node.data.spec), id: freshId(node.data.spec.kind, this.takenIds()) };
    const ports = this.portOverrides.get(id);
    if (ports) this.portOverrides.set(spec.id, ports);
    spec.position = { x: node.position.x + 40, y: node.position.y + 40 };
    this.flow.removeSelectedElements();
    this.flow.addNodes([{ ...this.flowNode(spec, this.portsFor(spec)), selected: true }]);
  }

  deleteNode(id) {
    if (this.flow.findNode(id)) this.flow.removeNodes([id], true);
  }

  toggleDisabled(id) {
    const node = this.flow.findNode(id);
    if (node) this.updateNode(id, { fields: { disabled: node.data.spec.disabled ? null : true } });
  }

  // --- quick add (js/overlays.js quickAddView)

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
  }

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
  }

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
  }

  closeOverlays() {
    const open = !!(this.menu.value || this.quick.value || this.sheet.value || this.output.value);
    this.output.value = null;
    this.menu.value = null;
    this.quick.value = null;
    this.sheet.value = false;
    return open;
  }

  toggleMinimap() {
    this.minimapChoice = !this.minimap.value;
    this.minimap.value = this.minimapChoice;
    savePrefs({ minimap: this.minimapChoice });
  }

  toggleTheme() {
    this.theme.value = this.theme.value === "dark" ? "light" : "dark";
    savePrefs({ theme: this.theme.value });
  }

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
  }

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
  }

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
      s: () => this.emit("save", { graph: this.exportGraph() }),
      c: () => this.copy(),
      v: () => this.paste(),
      a: () => this.flow.addSelectedNodes(this.flow.nodes.value),
      g: () => this.addGroup(),
      enter: () => this.emit("run", {}),
    };
    if (!actions[key]) return;
    event.preventDefault();
    actions[key]();
  }

  // --- run overlays (never part of the graph or its history)

  queueStatuses(entries) {
    const received = performance.now();
    for (const [id, status] of entries) {
      if (status && typeof status.elapsed === "number") status.tickFrom = received - status.elapsed * 1000;
      if (status && status.output !== undefined) status.preview = outputPreview(String(status.output));
      if (status) this.statuses.set(id, markRaw(status));
      else this.statuses.delete(id);
      this.pendingStatuses.set(id, status ? this.statuses.get(id) : null);
    }
    if (!this.frame) this.frame = requestAnimationFrame(() => this.flushStatuses());
  }

  flushStatuses() {
    this.frame = 0;
    for (const [id, status] of this.pendingStatuses) {
      const node = this.flow.findNode(id);
      if (node && node.data.status !== status) node.data = { ...node.data, status };
    }
    this.pendingStatuses.clear();
    this.tick();
  }

  // One timer for every running node's elapsed time, stopped when none runs.
  tick() {
    const running = [...this.statuses.values()].some((s) => s.tickFrom !== undefined && s.status === "running");
    if (running && !this.ticker) {
      this.ticker = setInterval(() => { this.now.value = performance.now(); this.tick(); }, 100);
    } else if (!running && this.ticker) {
      clearInterval(this.ticker);
      this.ticker = 0;
    }
  }

  showOutput(id) {
    const status = this.statuses.get(id);
    if (status && status.output !== undefined) this.output.value = { nodeId: id, text: String(status.output) };
  }

  resetStatuses() {
    this.pendingStatuses.clear();
    this.statuses.clear();
    this.edgeStates.clear();
    for (const node of this.flow.nodes.value) {
      if (node.data.status) node.data = { ...node.data, status: null };
    }
    for (const edge of this.flow.edges.value) this.styleEdge(edge, null);
    this.output.value = null;
    this.tick();
  }

  setEdgeStates(states) {
    for (const [id, state] of Object.entries(states || {})) {
      if (state) this.edgeStates.set(id, state);
      else this.edgeStates.delete(id);
      const edge = this.flow.findEdge(id);
      if (edge) this.styleEdge(edge, state);
    }
  }

  setOverlay(map, field, values) {
    const before = new Set(map.keys());
    map.clear();
    for (const [id, value] of Object.entries(values || {})) {
      const empty = value === null || (Array.isArray(value) && value.length === 0);
      if (!empty) map.set(id, markRaw(value));
    }
    for (const id of new Set([...before, ...map.keys()])) {
      const node = this.flow.findNode(id);
      if (node) node.data = { ...node.data, [field]: map.get(id) || null };
    }
  }
}

// ---------------------------------------------------------------- the NiceGUI element

const VENDORED_CSS = [
  "@vue-flow/core/vue-flow-core.css",
  "@vue-flow/core/vue-flow-theme-default.css",
  "@vue-flow/controls/vue-flow-controls.css",
  "@vue-flow/minimap/vue-flow-minimap.css",
];

function injectStyles(css) {
  if (!css || document.getElementById("graphflow-canvas-css")) return;
  const style = document.createElement("style");
  style.id = "graphflow-canvas-css";
  style.textContent = css;
  document.head.appendChild(style);
}

// What an edge says on the canvas: its condition expression, else the route it leaves a router by.
function edgeLabel(spec, sourcePort, sourceKind) {
  if (spec.condition) return `if ${spec.condition}`;
  if (sourceKind === "router") return String(sourcePort);
  return null;
}

function paletteMatches(kind, query) {
  const words = query.toLowerCase().split(/\s+/).filter(Boolean);
  const text = [kind.kind, kind.title, kind.description, kind.category].filter(Boolean).join(" ").toLowerCase();
  return words.every((word) => text.includes(word));
}

function paletteView(editor, kinds) {
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

const FLOW_OPTIONS = Object.freeze({
  class: "gf-vueflow",
  nodeTypes: NODE_TYPES,
  connectionMode: ConnectionMode.Strict,
  connectOnClick: false,
  deleteKeyCode: ["Delete", "Backspace"],
  multiSelectionKeyCode: ["Control", "Meta", "Shift"],
  selectionKeyCode: "Shift",
  zoomOnDoubleClick: false,
  minZoom: 0.05,
  maxZoom: 2.5,
});

const READONLY_OPTIONS = Object.freeze({ nodesDraggable: false, nodesConnectable: false, deleteKeyCode: null });

function decorations(editor) {
  // The minimap only for a large graph: a small one is in view whole, and the map would cover part of it.
  return () => [
    h(Background, { gap: 16 }),
    h(Controls, { showInteractive: false }, {
      "control-fit-view": () => h(ControlButton, { class: "vue-flow__controls-fitview", title: "Fit view (F)",
        "aria-label": "fit view", onClick: () => editor.fitView() },
      () => h("span", { class: "material-icons gf-control-icon", "aria-hidden": "true" }, "fit_screen")),
    }),
    editor.minimap.value ? h(MiniMap, { pannable: true, zoomable: true }) : null,
  ];
}

export default {
  name: "GraphflowCanvas",
  props: {
    kinds: { type: Array, default: () => [] },
    graph: { type: Object, default: () => ({}) },
    ports: { type: Object, default: () => ({}) },
    styles: { type: String, default: "" },
    lazy: { default: null }, // true | false | null: automatic, above LAZY_ABOVE nodes
    readonly: { type: Boolean, default: false },
    machineEvents: { type: Boolean, default: false }, // state machine cards offer their valid events as buttons
  },
  emits: ["graphChange", "select", "connectRefused", "save", "run", "machineEvent"],
  setup(props, { emit }) {
    instances += 1;
    const flowId = `graphflow-canvas-${instances}`;
    const flow = useVueFlow(flowId);
    const editor = new Editor(flow, props, emit);
    for (const [id, ports] of Object.entries(props.ports || {})) editor.portOverrides.set(id, ports);
    editor.listen();
    provide(CANVAS, editor);
    const stylesLoaded = shallowRef(false);
    return { flowId, flow, editor, stylesLoaded };
  },
  async mounted() {
    injectStyles(this.styles);
    this.onKeydown = (event) => this.editor.keydown(event);
    this.onPointerdown = (event) => {
      this.editor.active = this.$el.contains(event.target);
      // a press anywhere but on the menu or the quick-add list closes them (a click would also
      // come at the end of the edge drag that opened the list)
      if (!event.target.closest?.(".gf-menu, .gf-quick")) { this.editor.menu.value = null; this.editor.quick.value = null; }
    };
    window.addEventListener("keydown", this.onKeydown);
    window.addEventListener("pointerdown", this.onPointerdown, true);
    this.resizeObserver = new ResizeObserver(() => this.editor.fitIfNeeded());
    this.resizeObserver.observe(this.$el);
    await Promise.all(VENDORED_CSS.map((name) => loadResource(import.meta.resolve(name))));
    this.stylesLoaded = true;
  },
  beforeUnmount() {
    window.removeEventListener("keydown", this.onKeydown);
    window.removeEventListener("pointerdown", this.onPointerdown, true);
    this.resizeObserver?.disconnect();
    cancelAnimationFrame(this.editor.frame);
    clearInterval(this.editor.ticker);
    clearTimeout(this.editor.toastTimer);
  },
  methods: {
    set_graph(graph, ports) { this.editor.call("setGraph", [graph, ports]); },
    update_node(id, changes) { this.editor.call("updateNode", [id, changes || {}]); },
    replace_graph(graph, ports, select) { this.editor.call("replaceGraph", [graph, ports, select]); },
    set_node_status(id, status) { this.editor.call("queueStatuses", [[[id, status]]]); },
    set_statuses(statuses) { this.editor.call("queueStatuses", [Object.entries(statuses || {})]); },
    reset_statuses() { this.editor.call("resetStatuses", []); },
    set_edge_states(states) { this.editor.call("setEdgeStates", [states]); },
    set_problems(problems) { this.editor.call("setOverlay", [this.editor.problems, "problems", problems]); },
    set_heat(heat) { this.editor.call("setOverlay", [this.editor.heat, "heat", heat]); },
    fit_view() { this.editor.call("fitView", []); },
    auto_layout() { this.editor.call("autoLayout", []); },
    undo() { this.editor.call("undo", []); },
    redo() { this.editor.call("redo", []); },
  },
  render() {
    const editor = this.editor;
    const flowChildren = this.stylesLoaded
      ? [h(VueFlow, {
        ...FLOW_OPTIONS,
        id: this.flowId,
        onlyRenderVisibleElements: editor.lazy.value,
        minZoom: editor.lazy.value ? LAZY_MIN_ZOOM : FLOW_OPTIONS.minZoom,
        ...(editor.readonly ? READONLY_OPTIONS : {}),
      }, { default: decorations(editor) })]
      : [];
    if (editor.toast.value) {
      flowChildren.push(h("div", { class: "gf-toast", role: "alert", "data-testid": "connect-refused" }, editor.toast.value));
    }
    if (editor.empty.value) {
      flowChildren.push(h("div", { class: "gf-empty-hint", "data-testid": "empty-hint" },
        "Drag a node kind from the palette onto the canvas, or double-click the canvas to add one; "
        + "then connect an output port to an input port. Press ? for shortcuts."));
    }
    if (this.stylesLoaded) {
      flowChildren.push(toolbarView(editor), shortcutSheet(editor), contextMenu(editor), quickAddView(editor),
        outputView(editor));
    }
    return h("div", {
      class: ["gf-canvas-root", editor.theme.value === "dark" ? "gf-dark" : "gf-light"],
      "data-ready": String(editor.ready.value), "data-theme": editor.theme.value,
    }, [
      editor.readonly ? null : paletteView(editor, this.kinds),
      h("div", {
        class: "gf-flow",
        onDragover: (ev) => { ev.preventDefault(); if (ev.dataTransfer) ev.dataTransfer.dropEffect = "copy"; },
        onDrop: (ev) => (editor.readonly ? null : editor.drop(ev)),
        onDblclick: (ev) => {
          if (!editor.readonly && ev.target.classList?.contains("vue-flow__pane")) editor.openQuick(ev.clientX, ev.clientY, null);
        },
      }, flowChildren),
    ]);
  },
};
