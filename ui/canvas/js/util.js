// Small helpers every part of the canvas uses: ids, copies, text and time formatting.

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
