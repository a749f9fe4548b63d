// render.js builds DOM from data with textContent and properties only: no
// data ever goes through innerHTML, so a member called "<img onerror=...>"
// is shown as those characters and never run.
import { lang } from './i18n.js';

// h creates an element. attrs: class, text, on ({event: fn}), dataset,
// hidden/disabled/checked/value/selected/type/... set as properties, aria-*,
// role, for, href and the rest as attributes. Children are nodes or strings
// (strings become text nodes); null/false children are skipped.
export function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === undefined || v === null || v === false && !PROPS.has(k)) continue;
      if (k === 'class') el.className = Array.isArray(v) ? v.filter(Boolean).join(' ') : v;
      else if (k === 'text') el.textContent = String(v);
      else if (k === 'on') for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
      else if (k === 'dataset') Object.assign(el.dataset, v);
      else if (PROPS.has(k)) {
        el[k] = v;
        // The state that the user changes is also written as the default
        // (an attribute), so two drawings compare equal (see region) only
        // when they show the same thing.
        if (k === 'checked') el.defaultChecked = v;
        else if (k === 'selected') el.defaultSelected = v;
        else if (k === 'value' && tag === 'input') el.defaultValue = v;
      }
      else el.setAttribute(k, v === true ? '' : String(v));
    }
  }
  append(el, children);
  return el;
}

const PROPS = new Set(['hidden', 'disabled', 'checked', 'value', 'selected', 'type', 'name', 'id',
  'placeholder', 'required', 'multiple', 'readOnly', 'maxLength', 'min', 'max', 'step', 'rows',
  'autocomplete', 'inputMode', 'tabIndex', 'title', 'open']);

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

// fill replaces an element's children.
export function fill(el, ...children) {
  el.replaceChildren();
  append(el, children);
  return el;
}

// $ finds one element.
export function $(sel, root = document) {
  return root.querySelector(sel);
}

// busyWith says whether the user is typing or choosing inside el: a region
// is not rebuilt under their fingers (see region below).
export function busyWith(el) {
  const a = document.activeElement;
  // A select marked data-instant acts as soon as it changes: the part may
  // be redrawn under it.
  return !!(a && el.contains(a) && a.matches('input:not([type=checkbox]):not([type=radio]), textarea, select:not([data-instant])'));
}

// region makes a rebuildable part of a page: update(fn) rebuilds it with fn
// now, or when the focus leaves it if the user is typing in it. fn returns
// false to leave the part as it is.
//
// With diff, fn draws into a detached copy and the part is replaced only
// when the copy differs: a live page that receives a change every second
// does not replace the button under a finger (a tap that lands on a node
// replaced between touch and release is lost) nor the focus.
const FOCUS_SETTLE_MS = 300;

export function region(el, { diff = false } = {}) {
  let pending = null;
  const run = (fn) => {
    if (!diff) { fn(el); return; }
    const copy = el.cloneNode(false);
    if (fn(copy) === false) return;
    if (copy.isEqualNode(el)) return;
    el.replaceChildren(...copy.childNodes);
    for (const k of Object.keys(copy.dataset)) el.dataset[k] = copy.dataset[k];
  };
  // The deferred redraw waits a moment after the focus leaves, so the tap
  // that moved the focus (on "Add", say) completes on the node it started on.
  el.addEventListener('focusout', () => {
    setTimeout(() => {
      if (pending && !busyWith(el)) {
        const fn = pending;
        pending = null;
        run(fn);
      }
    }, FOCUS_SETTLE_MS);
  });
  return {
    el,
    update(fn) {
      if (busyWith(el)) { pending = fn; return; }
      pending = null;
      run(fn);
    },
  };
}

// announce says something to screen readers through the page's polite live
// region (#announce) and, unless toast is false (the page already shows
// it), shows it briefly as a toast.
export function announce(msg, kind = 'info', toast = true) {
  const live = document.getElementById('announce');
  if (live) live.textContent = msg;
  const box = document.getElementById('toasts');
  if (!box || !toast) return;
  const t = h('div', { class: ['toast', 'toast-' + kind], text: msg });
  box.appendChild(t);
  setTimeout(() => t.remove(), kind === 'error' ? 7000 : 3500);
}

// countdown is "mm:ss" until end (a Date), clamped at zero.
export function countdown(end, nowMs) {
  let s = Math.max(0, Math.round((end.getTime() - nowMs) / 1000));
  const m = Math.floor(s / 60);
  s %= 60;
  return String(m).padStart(2, '0') + ':' + String(s).padStart(2, '0');
}

// uuid is a random op id (RFC 4122 v4); crypto.randomUUID needs a secure
// context, so a plain-http LAN address falls back to getRandomValues.
export function uuid() {
  if (crypto.randomUUID) return crypto.randomUUID();
  const b = crypto.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const x = [...b].map((v) => v.toString(16).padStart(2, '0')).join('');
  return `${x.slice(0, 8)}-${x.slice(8, 12)}-${x.slice(12, 16)}-${x.slice(16, 20)}-${x.slice(20)}`;
}

// api fetches JSON from the API and throws an Error whose message is the
// server's message (or the status) when it fails. It asks for the page's
// language, not the browser's: the server's messages are shown as they are.
export async function api(method, url, body, headers = {}) {
  const init = { method, headers: { Accept: 'application/json', 'Accept-Language': lang(), ...headers }, credentials: 'same-origin' };
  if (body !== undefined) {
    if (typeof body === 'string') init.body = body;
    else { init.body = JSON.stringify(body); init.headers['Content-Type'] = 'application/json'; }
  }
  const res = await fetch(url, init);
  const ct = res.headers.get('Content-Type') || '';
  const data = ct.includes('json') ? await res.json().catch(() => null) : await res.text();
  if (!res.ok) {
    // The API's errors are {"error": {code, field, message}}.
    const e = data && typeof data === 'object' ? (data.error && typeof data.error === 'object' ? data.error : data) : null;
    const msg = e ? (e.message || e.code || '') : '';
    const err = new Error(msg || `HTTP ${res.status}`);
    err.status = res.status;
    err.data = data;
    throw err;
  }
  return data;
}
