// The viewer's choices kept in localStorage (the minimap; the theme is the app's) and the toggles the toolbar and keys use.

const MINIMAP_ABOVE = 40; // nodes: the minimap is shown for larger graphs only (a small one fits in view)...
const PREFS = "graphflow-canvas"; // ...unless toggled (M): that choice is kept in localStorage

export function loadPrefs() {
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

// Editor methods.
export const prefs = {
  showMiniMap(count) {
    const show = this.minimapChoice ?? (this.lazy.value || count > MINIMAP_ABOVE);
    if (this.minimap.value !== show) this.minimap.value = show;
    if (this.empty.value !== (count === 0)) this.empty.value = count === 0;
  },

  toggleMinimap() {
    this.minimapChoice = !this.minimap.value;
    this.minimap.value = this.minimapChoice;
    savePrefs({ minimap: this.minimapChoice });
  },

  // The theme is the whole app's (ui/theme.py): switching it here switches the page, and this
  // canvas follows the page's "graphflow-theme" event like every other canvas open in the browser.
  toggleTheme() {
    window.graphflowTheme?.toggle();
  },

  followTheme(event) {
    this.theme.value = event.detail === "dark" ? "dark" : "light";
  },
};
