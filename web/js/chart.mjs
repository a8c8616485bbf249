// Per-hop funnel as SVG drawn here: for each hop, candidates → delivered → opened → orders,
// bars scaled to the largest count, with the filtered reasons underneath.
import { L, stateText } from './i18n.mjs';
import { h, money } from './ui.mjs';

const NS = 'http://www.w3.org/2000/svg';
function s(tag, attrs, text) {
  const el = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, v);
  if (text !== undefined) el.textContent = text;
  return el;
}

export function funnel(hops) {
  const steps = [
    ['candidates', L('圈内候选', 'Candidates')], ['delivered', L('送达', 'Delivered')],
    ['opened', L('打开', 'Opened')], ['orders', L('下单', 'Ordered')],
  ];
  const max = Math.max(1, ...hops.flatMap((x) => steps.map(([k]) => x[k] || 0)));
  const W = 340, row = 22, labelW = 80, pad = 6;
  const height = hops.length * (steps.length * row + 28);
  const svg = s('svg', { viewBox: `0 0 ${W} ${height}`, class: 'funnel', role: 'img', 'aria-label': L('各跳漏斗', 'Funnel per hop') });
  let y = 0;
  for (const hop of hops) {
    svg.append(s('text', { x: 0, y: y + 16, class: 'hop' }, L(`第 ${hop.hop} 跳 · ${hop.shares} 次推荐`, `Hop ${hop.hop} · ${hop.shares} shares`)));
    y += 24;
    for (const [k, label] of steps) {
      const v = hop[k] || 0;
      const w = Math.round(((W - labelW - 44) * v) / max);
      svg.append(s('text', { x: 0, y: y + 15, class: 'label' }, label));
      svg.append(s('rect', { x: labelW, y: y + 3, width: Math.max(w, 1), height: row - 6, rx: 3, class: `bar ${k}` }));
      svg.append(s('text', { x: labelW + w + pad, y: y + 15, class: 'value' }, String(v)));
      y += row;
    }
    y += 4;
  }
  const details = hops.map((hop) => h('p', { class: 'muted' },
    L(`第 ${hop.hop} 跳：`, `Hop ${hop.hop}: `),
    Object.entries(hop.filtered).filter(([, n]) => n).map(([k, n]) => `${stateText(k)} ${n}`).join('，') || L('没有被过滤的人', 'nobody filtered'),
    hop.similarity_delivered.mean !== null ? L(`；送达者平均相似度 ${hop.similarity_delivered.mean}`, `; mean similarity delivered ${hop.similarity_delivered.mean}`) : '',
    hop.revenue_fen ? L(`；成交 ${money(hop.revenue_fen)}`, `; revenue ${money(hop.revenue_fen)}`) : ''));
  return h('div', { class: 'chart' }, svg, details);
}
