// A node's card (the GraphflowNode component): head, ports, run status, steps, output, problems, heat.
import { h } from "vue";
import { Handle, Position } from "@vue-flow/core";
import { CARD, editBox, formatDuration, nodeComponent, truncate } from "graphflow-canvas/util.js";
import { portTitle, schemaName } from "graphflow-canvas/ports.js";
import { machineView } from "graphflow-canvas/machine.js";

const LABEL_LINE_CHARS = 23; // characters of a bold label that fit on one line of a card, roughly
const ERROR_CHARS = 400; // an error's text on the card (two lines show; the tooltip has it all)

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

// graphflow.events.NodeStatus, plus "degraded" (tests/ui/test_node_status.py keeps them the same)
const STATUS_TEXT = {
  pending: "pending", running: "running", succeeded: "succeeded", failed: "failed", skipped: "skipped",
  cancelled: "cancelled", retrying: "retrying", waiting: "waiting", degraded: "degraded",
};

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
export function estimatedGeometry(id, label, ports, hasStatus) {
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
  if (status.reused) items.push(h("span", { class: "gf-reused", "data-testid": "reused", title: `reused from run ${status.reused}` }, "reused"));
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
  return editBox("input", { class: "gf-label-input nodrag nopan", value: data.spec.label || "", placeholder: id },
    (label) => editor.finishEditing(id, label));
}

export const GraphflowNode = nodeComponent("GraphflowNode", (editor, id, data) => {
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
});
