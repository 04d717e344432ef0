// Ports and the connection checks: the engine's wiring rule, a port's tooltip, and the editor's
// connecting methods (a refused connection says why, in a toast and to Python).
import { truncate, freshId } from "graphflow-canvas/util.js";

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

export function schemaName(port) {
  const title = port.json_schema && port.json_schema.title;
  return typeof title === "string" && title ? title : port.type;
}

const SCHEMA_TIP_CHARS = 2000;

// A port's tooltip: its name and type; a model port adds its JSON schema.
export function portTitle(port) {
  const head = `${port.name}: ${schemaName(port)}${port.multi ? " (many)" : ""}`;
  if (!port.json_schema) return head;
  return `${head}\n${truncate(JSON.stringify(port.json_schema, null, 2), SCHEMA_TIP_CHARS)}`;
}

// Editor methods: checking, making and refusing connections.
export const connecting = {
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
  },

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
  },

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
  },

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
  },

  onEmptySpace(point) {
    const el = document.elementFromPoint(point.clientX, point.clientY);
    return !!el && !el.closest(".vue-flow__node") && !!el.closest(".vue-flow");
  },

  refuse(reason, connection) {
    this.toast.value = reason;
    clearTimeout(this.toastTimer);
    this.toastTimer = setTimeout(() => { this.toast.value = null; }, 5000);
    this.emit("connectRefused", {
      reason,
      source: connection?.source ?? null, source_port: connection?.sourceHandle ?? null,
      target: connection?.target ?? null, target_port: connection?.targetHandle ?? null,
    });
  },
};
