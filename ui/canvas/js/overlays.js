// What floats over the canvas: the toolbar, the shortcut sheet (?), a node's right-click menu and the
// quick-add list (a double click on the empty canvas, or an edge dropped on empty space).
//
// Render functions only: their state lives on the Editor (canvas.js) as shallow refs. Every text is a
// Vue text node (escaped).
import { h } from "vue";

// [keys, what they do]: the sheet is the one list of the canvas' shortcuts.
export const SHORTCUTS = [
  ["Double click on the canvas", "add a node there (type to search, Enter to add)"],
  ["Drag an edge onto empty space", "add a node that takes it, connected"],
  ["Right click a node", "duplicate, rename, disable, run from here, delete"],
  ["Double click a label", "rename the node"],
  ["Delete / Backspace", "delete the selection"],
  ["Ctrl+C / Ctrl+V", "copy / paste the selection"],
  ["Ctrl+A", "select every node"],
  ["Ctrl+Z / Ctrl+Y (Ctrl+Shift+Z)", "undo / redo"],
  ["Ctrl+S", "save"],
  ["Ctrl+Enter", "run"],
  ["L", "lay the graph out, left to right (notes and groups stay where they are)"],
  ["Ctrl+G", "a group around the selected nodes (drag its frame to move what is inside; double click its name)"],
  ["N", "add a sticky note (double click it to write; Ctrl+Enter or a click outside keeps the text)"],
  ["F", "fit the graph in view"],
  ["M", "show or hide the minimap"],
  ["T", "light or dark theme"],
  ["Click a run's output on a card", "the whole value"],
  ["?", "this sheet (Escape closes it)"],
];

function button(testid, icon, title, onClick, pressed) {
  return h("button", {
    type: "button", class: ["gf-tool", pressed && "gf-tool-on"], title, "aria-label": title, "data-testid": testid,
    "aria-pressed": pressed === undefined ? undefined : String(!!pressed),
    onClick: (ev) => { ev.stopPropagation(); onClick(); },
  }, [h("span", { class: "material-icons", "aria-hidden": "true" }, icon)]);
}

export function toolbarView(editor) {
  const dark = editor.theme.value === "dark";
  const edits = editor.readonly ? [] : [ // a stored version (readonly) is only looked at
    button("layout", "account_tree", "Lay out left to right (L)", () => editor.autoLayout()),
    button("add-note", "sticky_note_2", "Add a sticky note (N)", () => editor.addNote()),
    button("add-group", "crop_free", "Group the selected nodes (Ctrl+G)", () => editor.addGroup()),
  ];
  return h("div", { class: "gf-toolbar nodrag nopan", "data-testid": "canvas-toolbar" }, [
    ...edits,
    button("minimap-toggle", "map", "Minimap (M)", () => editor.toggleMinimap(), editor.minimap.value),
    button("theme-toggle", dark ? "light_mode" : "dark_mode", dark ? "Light theme (T)" : "Dark theme (T)",
      () => editor.toggleTheme()),
    button("shortcuts-toggle", "keyboard", "Keyboard shortcuts (?)", () => { editor.sheet.value = !editor.sheet.value; }),
  ]);
}

export function shortcutSheet(editor) {
  if (!editor.sheet.value) return null;
  return h("div", { class: "gf-sheet nodrag nopan", role: "dialog", "aria-label": "keyboard shortcuts",
    "data-testid": "shortcut-sheet" }, [
    h("div", { class: "gf-sheet-head" }, [
      h("span", {}, "Keyboard and mouse"),
      button("shortcuts-close", "close", "Close (Escape)", () => { editor.sheet.value = false; }),
    ]),
    h("table", {}, [h("tbody", {}, SHORTCUTS.map(([keys, what]) =>
      h("tr", { key: keys }, [h("td", { class: "gf-keys" }, keys), h("td", {}, what)])))]),
  ]);
}

export function contextMenu(editor) {
  const menu = editor.menu.value;
  if (!menu) return null;
  const node = editor.flow.findNode(menu.nodeId);
  if (!node) return null;
  const disabled = !!node.data.spec.disabled;
  const items = [
    ["duplicate", "content_copy", "Duplicate", () => editor.duplicate(menu.nodeId)],
    ["rename", "edit", "Rename", () => editor.startEditing(menu.nodeId)],
    ["disable", disabled ? "play_circle" : "block", disabled ? "Enable" : "Disable", () => editor.toggleDisabled(menu.nodeId)],
    editor.runFrom && ["run-from", "replay", "Run from here", () => editor.emit("run", { from_node: menu.nodeId }),
      node.data.spec.kind === "input" ? "An input node only passes the run's inputs on: use Run" : null],
    ["delete", "delete", "Delete", () => editor.deleteNode(menu.nodeId)],
  ].filter(Boolean);
  return h("div", {
    class: "gf-menu nodrag nopan", role: "menu", "data-testid": "node-menu", style: { left: `${menu.x}px`, top: `${menu.y}px` },
    onPointerdown: (ev) => ev.stopPropagation(),
  }, items.map(([action, icon, text, run, refused]) => h("button", { // refused: why it cannot work here
    type: "button", role: "menuitem", class: "gf-menu-item", key: action, "data-action": action,
    disabled: !!refused, title: refused || undefined, "aria-disabled": refused ? "true" : undefined,
    onClick: () => { editor.menu.value = null; run(); },
  }, [h("span", { class: "material-icons", "aria-hidden": "true" }, icon), h("span", {}, text)])));
}

export function quickAddView(editor) {
  const quick = editor.quick.value;
  if (!quick) return null;
  const shown = editor.quickChoices();
  const active = Math.min(quick.active, Math.max(0, shown.length - 1));
  const pick = (choice) => editor.quickPick(choice);
  return h("div", {
    class: "gf-quick nodrag nopan", role: "dialog", "aria-label": "add a node", "data-testid": "quick-add",
    style: { left: `${quick.x}px`, top: `${quick.y}px` }, onPointerdown: (ev) => ev.stopPropagation(),
  }, [
    h("input", {
      class: "gf-quick-search", type: "search", placeholder: quick.from ? "Add a node that fits" : "Add a node",
      "aria-label": "search node kinds", "data-testid": "quick-search", value: quick.query,
      onVnodeMounted: ({ el }) => el.focus(),
      onInput: (ev) => { editor.quick.value = { ...quick, query: ev.target.value, active: 0 }; },
      onKeydown: (ev) => {
        ev.stopPropagation(); // typing here is not a canvas shortcut
        const move = { ArrowDown: 1, ArrowUp: -1 }[ev.key];
        if (move && shown.length) {
          ev.preventDefault();
          editor.quick.value = { ...quick, active: (active + move + shown.length) % shown.length };
        } else if (ev.key === "Enter" && shown.length) {
          ev.preventDefault();
          pick(shown[active]);
        } else if (ev.key === "Escape") {
          editor.quick.value = null;
        }
      },
    }),
    shown.length
      ? h("ul", { class: "gf-quick-list", role: "listbox" }, shown.map((choice, i) => h("li", {
        key: `${choice.kind.kind}:${choice.port || ""}`, role: "option", "aria-selected": String(i === active),
        class: ["gf-quick-item", i === active && "gf-quick-active"], "data-quick-kind": choice.kind.kind,
        title: choice.kind.description || choice.kind.title,
        onMousedown: (ev) => { ev.preventDefault(); pick(choice); },
      }, [
        h("span", { class: "gf-quick-title" }, choice.kind.title || choice.kind.kind),
        choice.port ? h("span", { class: "gf-quick-port" }, choice.portLabel) : null,
      ])))
      : h("div", { class: "gf-quick-none", "data-testid": "quick-none" },
        quick.from ? "No kind takes this port's type" : `No kind matches "${quick.query}"`),
  ]);
}

// A node's whole output after a run (its card shows the first lines): text in a <pre>, never HTML.
export function outputView(editor) {
  const shown = editor.output.value;
  if (!shown) return null;
  return h("div", { class: "gf-sheet gf-output-sheet nodrag nopan nowheel", role: "dialog",
    "aria-label": `output of ${shown.nodeId}`, "data-testid": "output-sheet" }, [
    h("div", { class: "gf-sheet-head" }, [
      h("span", {}, `Output of ${shown.nodeId}`),
      button("output-close", "close", "Close (Escape)", () => { editor.output.value = null; }),
    ]),
    h("pre", { class: "gf-output-full", "data-testid": "output-full" }, shown.text),
  ]);
}
