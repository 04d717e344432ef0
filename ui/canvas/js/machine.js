// A state machine node's card: its states (the current one highlighted, live and in replay), its
// transitions, and, while it waits on a page that can send events, a button per event valid now.
//
// Everything comes from the node's config (the definition) and its status (``status.machine``:
// state and accepts, from the read model). Every text is a Vue text node (escaped).
import { h } from "vue";

const TRANSITION_LINES = 12;

export function machineView(editor, id, data, status) {
  if (!data.spec || data.spec.kind !== "state_machine") return null;
  const config = data.spec.config || {};
  const states = Array.isArray(config.states) ? config.states : [];
  const transitions = Array.isArray(config.transitions) ? config.transitions : [];
  const machine = status && status.machine ? status.machine : null;
  const current = machine ? String(machine.state) : null;
  const accepts = machine && Array.isArray(machine.accepts) ? machine.accepts.map(String) : [];
  const chips = states.map((s) => {
    const name = String(s && s.name);
    const on = name === current;
    return h("span", {
      key: name,
      class: ["gf-state", on && "gf-state-current", s && s.terminal && "gf-state-terminal",
        name === config.error_state && "gf-state-error"],
      "data-testid": "machine-state", "data-state": name, "data-current": on ? "true" : undefined,
      title: s && s.description ? String(s.description) : name,
    }, name);
  });
  const lines = transitions.slice(0, TRANSITION_LINES).map((t, i) => {
    const event = t.event || "timeout";
    const after = t.after ? ` after ${formatAfter(t.after)}` : "";
    const guard = t.guard ? ` [${t.guard}]` : "";
    return h("div", {
      key: i, class: ["gf-transition", t.from === current && "gf-transition-now"], "data-testid": "machine-transition",
    }, `${t.from} —${event}${after}→ ${t.to}${guard}`);
  });
  const more = transitions.length > TRANSITION_LINES ? h("div", { class: "gf-step-more" },
    `… ${transitions.length - TRANSITION_LINES} more`) : null;
  const canSend = editor.machineEvents && status && status.status === "waiting" && accepts.length;
  const buttons = canSend ? h("div", { class: "gf-machine-send" }, accepts.map((event) => h("button", {
    key: event, type: "button", class: "gf-machine-button nodrag", "data-testid": "machine-send",
    "data-event": event, title: `send ${event}`,
    onClick: (ev) => { ev.stopPropagation(); editor.emit("machineEvent", { node_id: id, event }); },
  }, event))) : null;
  return h("div", { class: "gf-machine nodrag", "data-testid": "machine", "data-current": current || undefined }, [
    h("div", { class: "gf-states" }, chips), buttons, h("div", { class: "gf-transitions" }, lines), more,
  ]);
}

function formatAfter(seconds) {
  const s = Number(seconds);
  if (s >= 86400 && s % 86400 === 0) return `${s / 86400}d`;
  if (s >= 3600 && s % 3600 === 0) return `${s / 3600}h`;
  if (s >= 60 && s % 60 === 0) return `${s / 60}m`;
  return `${s}s`;
}
