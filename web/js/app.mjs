// The shell: who is logged in, the route table, the top bar and the tabs.
// Every screen is drawn from the public JSON API by a page module.
import { get, ApiError } from './api.mjs';
import { L, getLang, setLang, errorText } from './i18n.mjs';
import { h, link } from './ui.mjs';
import * as shop from './pages/shop.mjs';
import * as account from './pages/account.mjs';
import * as orders from './pages/orders.mjs';
import * as promoter from './pages/promoter.mjs';
import * as seller from './pages/seller.mjs';
import * as feed from './pages/feed.mjs';

export const state = { user: null, homeShopId: null };

const routes = [
  ['/', shop.home], ['/shop/:id', shop.home], ['/product/:id', shop.product],
  ['/s/:token', feed.landing], ['/feed', feed.feed, true],
  ['/login', account.login], ['/register', account.register], ['/me', account.me, true],
  ['/open-shop', account.openShop, true],
  ['/orders', orders.list, true], ['/orders/:id', orders.detail, true],
  ['/promoter', promoter.centre, true], ['/shares/:id', promoter.share, true],
  ['/seller', seller.dashboard, true], ['/seller/:tab', seller.dashboard, true],
];

function match(path) {
  for (const [pattern, page, auth] of routes) {
    const ps = pattern.split('/'), xs = path.split('/');
    if (ps.length !== xs.length) continue;
    const params = {};
    if (ps.every((p, i) => (p.startsWith(':') ? (params[p.slice(1)] = decodeURIComponent(xs[i])) !== '' : p === xs[i])))
      return { page, params, auth };
  }
  return null;
}

export async function refreshSession() {
  const s = await get('/session');
  state.user = s.user;
  state.homeShopId = s.home_shop_id;
}

// The shop the buyer is looking at: the last one opened, else the front page's.
export function currentShop() {
  return Number(sessionStorage.getItem('quanzi.shop')) || state.homeShopId;
}
export function setCurrentShop(id) { sessionStorage.setItem('quanzi.shop', String(id)); }

// The shop the logged-in member runs (owner or staff), if any.
export function myShop() {
  const s = state.user && state.user.shops && state.user.shops[0];
  return s || null;
}

export function go(path, replace = false) {
  if (replace) history.replaceState(null, '', path);
  else history.pushState(null, '', path);
  render();
}

export function toLogin() {
  const here = location.pathname + location.search;
  go(`/login?next=${encodeURIComponent(here)}`, true);
}

function topBar() {
  const other = getLang() === 'en' ? '中文' : 'EN';
  return [
    link('/', h('span', { class: 'logo' }, '圈'), h('b', {}, L('圈子', 'quanzi'))),
    h('span', { class: 'spacer' }),
    h('button', {
      type: 'button', class: 'lang', 'aria-label': L('切换语言', 'Switch language'),
      onclick: () => { setLang(getLang() === 'en' ? 'zh' : 'en'); render(); },
    }, other),
  ];
}

function tabs(path) {
  const t = [['/', L('店铺', 'Shop')], ['/feed', L('推荐', 'For you')], ['/orders', L('订单', 'Orders')], ['/me', L('我的', 'Me')]];
  return t.map(([href, text]) => {
    const on = href === '/' ? path === '/' || path.startsWith('/shop') || path.startsWith('/product')
      : path.startsWith(href);
    return h('a', { href, 'data-link': '', class: on ? 'on' : '' }, text);
  });
}

let seq = 0;
export async function render() {
  const n = ++seq;
  const path = location.pathname.replace(/\/+$/, '') || '/';
  const query = new URLSearchParams(location.search);
  document.getElementById('top').replaceChildren(...topBar());
  document.getElementById('tabs').replaceChildren(...tabs(path));
  const main = document.getElementById('main');
  const m = match(path);
  if (!m) {
    main.replaceChildren(h('div', { class: 'empty' }, h('h1', {}, L('没有这个页面', 'No such page')), link('/', L('回到店铺', 'Back to the shop'))));
    return;
  }
  if (m.auth && !state.user) return toLogin();
  try {
    const view = await m.page({ params: m.params, query, path });
    if (n !== seq) return; // a newer navigation won
    main.replaceChildren(...[view].flat(Infinity).filter((x) => x !== null && x !== undefined && x !== false));
    document.title = (main.querySelector('h1') || {}).textContent || L('圈子', 'quanzi');
    window.scrollTo(0, 0);
  } catch (e) {
    if (n !== seq) return;
    if (e instanceof ApiError && e.status === 401) {
      state.user = null;
      return toLogin();
    }
    main.replaceChildren(h('div', { class: 'empty' },
      h('h1', {}, e instanceof ApiError && e.status === 404 ? L('找不到', 'Not found') : L('出错了', 'Something went wrong')),
      h('p', {}, e instanceof ApiError ? errorText(e) : String(e)),
      link('/', L('回到店铺', 'Back to the shop'))));
  }
}

document.addEventListener('click', (ev) => {
  const a = ev.target.closest('a[data-link]');
  if (!a || ev.ctrlKey || ev.metaKey || ev.shiftKey || a.target) return;
  ev.preventDefault();
  go(a.getAttribute('href'));
});
window.addEventListener('popstate', render);

refreshSession().then(render, () => render());
