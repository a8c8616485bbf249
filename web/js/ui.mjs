// Small helpers for drawing pages: elements, money, times, forms, messages.
import { L, errorText } from './i18n.mjs';

// h('button', {class: 'primary', onclick: fn}, 'text', child, [more]) - an element.
export function h(tag, props, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k.startsWith('on')) el.addEventListener(k.slice(2), v);
    else if (k === 'class') el.className = v;
    else if (k === 'value') el.value = v;
    else if (k === 'checked' || k === 'selected' || k === 'disabled') el[k] = !!v;
    else el.setAttribute(k, v === true ? '' : v);
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
}

// ¥ with two decimals, from integer fen (no floating point on the way).
export function money(fen) {
  const neg = fen < 0;
  const abs = Math.abs(Number(fen));
  const yuan = Math.trunc(abs / 100);
  const cents = String(abs % 100).padStart(2, '0');
  return `${neg ? '-' : ''}¥${yuan.toLocaleString('en-US')}.${cents}`;
}

// Yuan text typed by a person ("12.5", "12.50", "12") to fen; NaN when it is not money.
export function toFen(text) {
  const m = /^\s*(\d{1,9})(?:\.(\d{1,2}))?\s*$/.exec(text);
  if (!m) return NaN;
  return Number(m[1]) * 100 + Number((m[2] || '').padEnd(2, '0'));
}

const fmt = new Intl.DateTimeFormat('zh-CN', {
  timeZone: 'Asia/Shanghai', year: 'numeric', month: '2-digit', day: '2-digit',
  hour: '2-digit', minute: '2-digit', hour12: false,
});
// A time in China time, "2026-12-06 10:27".
export function time(iso) {
  if (!iso) return '';
  const p = Object.fromEntries(fmt.formatToParts(new Date(iso)).map((x) => [x.type, x.value]));
  return `${p.year}-${p.month}-${p.day} ${p.hour}:${p.minute}`;
}
export const day = (iso) => time(iso).slice(0, 10);

export const pct = (bps) => `${(bps / 100).toFixed(bps % 100 ? 2 : 0)}%`;

let toastTimer = 0;
export function toast(text, bad = false) {
  const t = document.getElementById('toast');
  t.textContent = text;
  t.className = bad ? 'show bad' : 'show';
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => { t.className = ''; }, 3500);
}

// A labelled input: field(label, {name, type, value, ...}).
export function field(label, props, hint) {
  const input = props.tag === 'textarea' ? h('textarea', { ...props, tag: null }, props.value || '')
    : props.tag === 'select' ? h('select', { ...props, tag: null, options: null },
      props.options.map(([v, t]) => h('option', { value: v, selected: String(v) === String(props.value) }, t)))
      : h('input', props);
  return h('label', { class: 'field' }, h('span', {}, label), input, hint ? h('small', {}, hint) : null);
}

// The values of a form's named fields, as strings.
export const values = (form) => Object.fromEntries(new FormData(form).entries());

// A form whose submit runs `fn(values)`; errors are shown under the form in words,
// with the field the server named marked. The button is busy while it runs.
export function form(props, children, fn) {
  const err = h('p', { class: 'error', role: 'alert' });
  const f = h('form', { ...props, novalidate: true }, children, err);
  f.addEventListener('submit', async (ev) => {
    ev.preventDefault();
    err.textContent = '';
    f.querySelectorAll('.invalid').forEach((x) => x.classList.remove('invalid'));
    const btn = f.querySelector('button[type=submit], button:not([type])');
    if (btn) btn.disabled = true;
    try {
      await fn(values(f), f);
    } catch (e) {
      showError(err, e, f);
    } finally {
      if (btn && btn.isConnected) btn.disabled = false;
    }
  });
  return f;
}

export function showError(where, e, f) {
  if (!e || !e.code) { // a check of the page's own, already in words
    where.textContent = (e && e.message) || L('出错了', 'Something went wrong');
    return;
  }
  where.textContent = errorText(e);
  const input = f && e.field && f.querySelector(`[name="${CSS.escape(e.field)}"]`);
  if (input) input.classList.add('invalid');
}

// A button whose click runs `fn`; a refusal is shown as a toast in words.
export function action(label, fn, cls = '') {
  const b = h('button', { type: 'button', class: cls }, label);
  b.addEventListener('click', async () => {
    b.disabled = true;
    try {
      await fn();
    } catch (e) {
      toast(e.code ? errorText(e) : String(e), true);
    } finally {
      if (b.isConnected) b.disabled = false;
    }
  });
  return b;
}

// What an empty list says: what there is not, and what to do next.
export const empty = (text, next) => h('div', { class: 'empty' }, h('p', {}, text), next || null);

export const card = (...children) => h('section', { class: 'card' }, ...children);

export const badge = (text, kind = '') => h('span', { class: `badge ${kind}` }, text);

export function tagsOf(tags) {
  return h('div', { class: 'tags' }, Object.keys(tags || {}).map((t) => h('span', { class: 'tag' }, t)));
}

// "母婴:0.9, 早教" to {"母婴": 0.9, "早教": 1}
export function parseTags(text) {
  const out = {};
  for (const part of String(text || '').split(/[,，\s]+/)) {
    if (!part) continue;
    const [name, w] = part.split(/[:：]/);
    out[name] = w === undefined || w === '' ? 1 : Number(w);
  }
  return out;
}
export const tagsText = (tags) => Object.entries(tags || {}).map(([k, v]) => `${k}:${v}`).join(', ');

export const link = (href, ...children) => h('a', { href, 'data-link': '' }, ...children);

// A button that copies `text` to the clipboard (shown in the toast when the browser refuses).
export const copyButton = (text, done) => action(L('复制', 'Copy'), async () => {
  try {
    await navigator.clipboard.writeText(text);
    toast(done);
  } catch {
    toast(text);
  }
}, 'small');
