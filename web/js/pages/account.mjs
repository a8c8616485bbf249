// Signing up, logging in and out, the member's own page, and opening a shop.
import { get, post, del } from '../api.mjs';
import { L, getLang, setLang } from '../i18n.mjs';
import { h, field, form, card, empty, link, action, toast, day } from '../ui.mjs';
import { state, go, refreshSession, render, myShop } from '../app.mjs';

const nextOf = (query) => {
  const n = query.get('next') || '/';
  return n.startsWith('/') && !n.startsWith('//') ? n : '/';
};

export async function login({ query }) {
  const next = nextOf(query);
  return [
    h('h1', {}, L('登录', 'Log in')),
    form({ class: 'auth' }, [
      field(L('手机号或邮箱', 'Phone or email'), { name: 'login', autocomplete: 'username', required: true }),
      field(L('密码', 'Password'), { name: 'password', type: 'password', autocomplete: 'current-password', required: true }),
      h('button', { type: 'submit', class: 'primary' }, L('登录', 'Log in')),
    ], async (v) => {
      await post('/auth/login', { login: v.login.trim(), password: v.password });
      await refreshSession();
      go(next, true);
    }),
    h('p', {}, L('还没有账号？', 'No account yet? '), link(`/register?next=${encodeURIComponent(next)}`, L('注册', 'Sign up'))),
  ];
}

export async function register({ query }) {
  const next = nextOf(query);
  return [
    h('h1', {}, L('注册', 'Sign up')),
    form({ class: 'auth' }, [
      field(L('手机号或邮箱', 'Phone or email'), { name: 'login', autocomplete: 'username', required: true }),
      field(L('昵称', 'Your name'), { name: 'display_name', autocomplete: 'nickname', required: true },
        L('朋友们在推荐里看到的名字', 'The name friends see on your recommendations')),
      field(L('密码', 'Password'), { name: 'password', type: 'password', autocomplete: 'new-password', required: true },
        L('至少 8 位', 'At least 8 characters')),
      h('button', { type: 'submit', class: 'primary' }, L('注册', 'Sign up')),
    ], async (v) => {
      await post('/auth/register', { login: v.login.trim(), display_name: v.display_name.trim(), password: v.password });
      await refreshSession();
      go(next, true);
    }),
    h('p', {}, L('已有账号？', 'Have an account? '), link(`/login?next=${encodeURIComponent(next)}`, L('登录', 'Log in'))),
  ];
}

export async function me() {
  const [m, circles, mutes] = await Promise.all([get('/me'), get('/me/circles'), get('/me/mutes')]);
  const shop = myShop();
  return [
    h('h1', {}, m.display_name),
    h('p', { class: 'muted' }, m.login),
    h('nav', { class: 'menu' },
      link('/orders', L('我的订单', 'My orders')),
      link('/feed', L('朋友的推荐', 'Recommendations')),
      link('/promoter', L('推广中心', 'Promoter centre')),
      shop ? link('/seller', L(`卖家后台 · ${shop.name}`, `Seller dashboard · ${shop.name}`)) : link('/open-shop', L('开一家店', 'Open a shop'))),
    card(h('h2', {}, L('我的圈子', 'My circles')),
      circles.items.length
        ? h('ul', { class: 'rows' }, circles.items.map((c) => h('li', {}, h('b', {}, c.name),
          h('small', {}, L(` ${c.member_count} 人`, ` ${c.member_count} people`)))))
        : empty(L('还没加入圈子。在店铺首页输入邀请码加入。', 'No circles yet. Enter an invite code on a shop\'s page to join.'), link('/', L('去店铺', 'Go to the shop')))),
    card(h('h2', {}, L('屏蔽', 'Muted')),
      mutes.items.length
        ? h('ul', { class: 'rows' }, mutes.items.map((x) => h('li', {}, x.name, h('small', {}, ` ${day(x.created_at)} `),
          action(L('取消屏蔽', 'Unmute'), async () => { await del(`/mutes/${x.id}`); go('/me', true); }, 'small'))))
        : h('p', { class: 'muted' }, L('没有屏蔽任何人。你屏蔽的人和店铺不会再出现在推荐里。', 'Nobody muted. Whom you mute never reaches your recommendations again.'))),
    card(h('h2', {}, L('语言', 'Language')),
      h('div', { class: 'segmented' }, [['zh', '中文'], ['en', 'English']].map(([l, t]) =>
        h('button', { type: 'button', class: getLang() === l ? 'on' : '', onclick: () => { setLang(l); render(); } }, t)))),
    action(L('退出登录', 'Log out'), async () => {
      await post('/auth/logout');
      state.user = null;
      toast(L('已退出', 'Logged out'));
      go('/', true);
    }, 'wide'),
  ];
}

export async function openShop() {
  return [
    h('h1', {}, L('开一家店', 'Open a shop')),
    h('p', { class: 'muted' }, L('开店免费试用。你的店铺属于你：商品、圈子、推广员和账本都在这里。', 'Free to try. Your products, circles, promoters and ledger, all in one place.')),
    form({ class: 'auth' }, [
      field(L('店铺名称', 'Shop name'), { name: 'name', required: true }),
      field(L('店铺地址', 'Shop address'), { name: 'slug', required: true, pattern: '[a-z0-9-]+', autocapitalize: 'off' },
        L('小写字母、数字和横线，如 shanli-walnut', 'lowercase letters, digits and dashes, like shanli-walnut')),
      field(L('店铺故事', 'Your story'), { tag: 'textarea', name: 'story', rows: 4 }, L('你是谁，卖的东西从哪里来', 'Who you are and where your products come from')),
      h('button', { type: 'submit', class: 'primary' }, L('开店', 'Open the shop')),
    ], async (v) => {
      await post('/shops', { name: v.name.trim(), slug: v.slug.trim(), story: v.story.trim() });
      await refreshSession();
      go('/seller', true);
    }),
  ];
}
