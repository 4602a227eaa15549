// Small DOM and formatting helpers shared by the nurse screen and the biomed page.

/**
 * Creates an element. Text goes through textContent only, never innerHTML: patient names and
 * device errors come from outside.
 * @param {string} tag
 * @param {Record<string, string>} [attrs]
 * @param {(Node | string | null | undefined)[]} [children]
 */
export function el(tag, attrs = {}, children = []) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (key === 'class') node.className = value;
    else if (key === 'text') node.textContent = value;
    else node.setAttribute(key, value);
  }
  for (const child of children) {
    if (child === null || child === undefined) continue;
    node.append(child);
  }
  return node;
}

/** Sets text only when it changed (keeps the DOM quiet at 10 updates a second). */
export function setText(node, text) {
  if (node.textContent !== text) node.textContent = text;
}

/** Sets or removes an attribute only when it changed. */
export function setAttr(node, name, value) {
  if (value === null || value === undefined) {
    if (node.hasAttribute(name)) node.removeAttribute(name);
  } else if (node.getAttribute(name) !== String(value)) node.setAttribute(name, String(value));
}

const UNIT_TEXT = { 'mm[Hg]': 'mmHg', Cel: '°C', '[degF]': '°F', 'cm[H2O]': 'cmH2O' };

/** UCUM code to how it is written on a screen. */
export function unitText(ucum) {
  return UNIT_TEXT[ucum] ?? ucum;
}

/** "8 s", "12 min", "3 h", "2 d". */
export function ageText(ms) {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s} s`;
  if (s < 3600) return `${Math.floor(s / 60)} min`;
  if (s < 86400) return `${Math.floor(s / 3600)} h`;
  return `${Math.floor(s / 86400)} d`;
}

/** "m:ss" */
export function mmss(ms) {
  const s = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

export function clockText(time) {
  return new Date(time).toLocaleTimeString([], { hour12: false });
}

export function bytesText(bytes) {
  if (bytes === null || bytes === undefined) return '—';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

/** Natural order for bed ids: bed-2 before bed-10. */
export const byNatural = (a, b) => a.localeCompare(b, undefined, { numeric: true });
