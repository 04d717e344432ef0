// Small helpers every part of the canvas uses: ids, copies, text and time formatting, node components.
import { h, markRaw, defineComponent, inject } from "vue";

export const CANVAS = Symbol("graphflow-canvas");

// Card geometry (canvas.css), to estimate a node's size and handle positions before it is measured.
// Every card has the same width (a label, error or problem wraps and is clamped instead of widening it).
export const CARD = { width: 150, base: 46, row: 20.2, firstHandle: 46.3, labelLine: 16, statusRow: 17, handle: 10 };

const ID_BAD_CHARS = /[^A-Za-z0-9_.-]/g;

export function freshId(prefix, taken) {
  let base = String(prefix || "node").replace(ID_BAD_CHARS, "_");
  if (!/^[A-Za-z_]/.test(base)) base = `n_${base}`;
  let n = 1;
  while (taken.has(`${base}_${n}`)) n += 1;
  return `${base}_${n}`;
}

export function isEditable(target) {
  return !!target && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.nodeName));
}

export function clone(value) {
  return value === undefined ? undefined : JSON.parse(JSON.stringify(value));
}

// The rule of graphflow/formatting.py duration(): "0.4 ms", "123 ms", "1.23 s".
export function formatDuration(seconds) {
  if (seconds === null || seconds === undefined) return null;
  if (Math.abs(seconds) >= 1) return `${seconds.toFixed(2)} s`;
  const ms = seconds * 1000;
  return Math.abs(ms) < 10 ? `${ms.toFixed(1)} ms` : `${Math.round(ms)} ms`;
}

export function truncate(text, limit) {
  return text.length > limit ? `${text.slice(0, limit - 1)}…` : text;
}

// A node type's component (a card, a note, a group): render(editor, id, data) draws it.
export function nodeComponent(name, render) {
  return markRaw(defineComponent({
    name,
    inheritAttrs: false, // Vue Flow passes position, dimensions, ...: keep them off the DOM
    props: { id: { type: String, required: true }, data: { type: Object, required: true } },
    setup(props) {
      const editor = inject(CANVAS);
      return () => render(editor, props.id, props.data);
    },
  }));
}

// The box that edits a label, a group's name or a note's text, focused with its text selected:
// finish(text) keeps the text, finish(null) (Escape) drops the edit; keeps(ev): a key that keeps it.
export function editBox(tag, attrs, finish, keeps = (ev) => ev.key === "Enter") {
  return h(tag, {
    ...attrs,
    onVnodeMounted: ({ el }) => { el.focus(); el.select(); },
    onKeydown: (ev) => {
      ev.stopPropagation();
      if (ev.key === "Escape") finish(null);
      else if (keeps(ev)) finish(ev.target.value);
    },
    onBlur: (ev) => finish(ev.target.value),
  });
}
