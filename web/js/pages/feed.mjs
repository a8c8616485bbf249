// Recommendations: the member's feed (open, not interested, mute, report) and the
// landing of a shared link, /s/{token}: who recommended what, that they used it, why.
import { get, post } from '../api.mjs';
import { L } from '../i18n.mjs';
import { h, money, day, card, empty, link, action, toast, field, form } from '../ui.mjs';
import { state, go, setCurrentShop } from '../app.mjs';
import { shareBox } from './shop.mjs';

export function experienceText(s) {
  const when = s.experienced_at ? day(s.experienced_at) : '';
  if (s.experience === 'order') return L(`${when} 亲自买过并收到`, `bought and received it on ${when}`);
  if (s.experience === 'trial') return L(`${when} 亲自试用过`, `tried it on ${when}`);
  return L('店家本人', 'runs the shop');
}

function reportForm(item, done) {
  return form({ class: 'report', hidden: true }, [
    field(L('举报原因', 'What is wrong'), { tag: 'textarea', name: 'reason', rows: 2, required: true }),
    h('button', { type: 'submit' }, L('提交举报', 'Report')),
  ], async (v) => {
    await post('/reports', { share_id: item.share_id, reason: v.reason.trim() });
    toast(L('已举报，店家会处理', 'Reported; the shop will look at it'));
    done();
  });
}

function feedItem(item) {
  const p = item.product;
  const reload = () => go('/feed', true);
  const rep = reportForm(item, reload);
  return h('li', { class: 'card feed-item' },
    h('div', { class: 'who' }, h('b', {}, item.sharer.display_name), ' ',
      h('small', {}, experienceText(item.sharer))),
    item.note ? h('blockquote', {}, item.note) : null,
    item.sharer.feedback ? h('p', { class: 'muted' }, '★'.repeat(item.sharer.feedback.rating), ' ', item.sharer.feedback.text) : null,
    h('div', { class: 'product-line' },
      p.image ? h('img', { src: p.image, alt: '', class: 'thumb' }) : h('div', { class: 'thumb noimg' }, p.title.slice(0, 1)),
      h('div', {}, h('b', {}, p.title), h('div', { class: 'price' }, money(p.price_fen)), h('small', {}, p.shop_name))),
    h('p', { class: 'why' }, item.matched_interests.length
      ? L(`因为你关注：${item.matched_interests.join('、')}`, `Because you follow: ${item.matched_interests.join(', ')}`)
      : L('来自你所在的圈子', 'From a circle you are in'),
    item.hop === 2 ? L('（朋友的朋友转来的）', ' (passed on by a friend of a friend)') : ''),
    h('div', { class: 'actions' },
      action(L('看看', 'Open'), async () => {
        await post(`/feed/${item.id}/open`);
        go(item.link);
      }, 'primary'),
      action(L('不感兴趣', 'Not interested'), async () => {
        await post(`/feed/${item.id}/not-interested`);
        toast(L('以后少推荐这类商品', 'You will see less like this'));
        reload();
      }),
      action(L(`屏蔽 ${item.sharer.display_name}`, `Mute ${item.sharer.display_name}`), async () => {
        await post('/mutes', { user_id: item.sharer.id });
        toast(L('已屏蔽，TA 的推荐不会再出现', 'Muted: nothing from them again'));
        reload();
      }),
      h('button', { type: 'button', class: 'link', onclick: () => { rep.hidden = !rep.hidden; } }, L('举报', 'Report'))),
    rep);
}

export async function feed() {
  const page = await get('/me/feed?limit=50');
  return [
    h('h1', {}, L('朋友的推荐', 'Recommendations')),
    h('p', { class: 'muted' }, L('只有亲自用过的人才能推荐，而且只推荐给兴趣相近的人；每天最多几条。', 'Only people who used a product can recommend it, only to people with matching interests, and only a few a day.')),
    page.items.length ? h('ul', { class: 'feed' }, page.items.map(feedItem))
      : empty(L('还没有推荐。加入店铺的圈子，朋友用过的好东西会出现在这里。', 'No recommendations yet. Join a shop\'s circle: what friends used and liked shows up here.'), link('/', L('去店铺', 'Go to the shop'))),
  ];
}

export async function landing({ params }) {
  const token = params.token;
  const l = await get(`/s/${encodeURIComponent(token)}`);
  setCurrentShop(l.shop.id);
  const visit = async () => {
    if (state.user) await post(`/s/${encodeURIComponent(token)}/visit`);
  };
  if (l.promoter) {
    return [
      h('h1', {}, l.shop.name),
      card(h('p', {}, L(`${l.promoter.display_name} 邀请你来看看这家店。`, `${l.promoter.display_name} invites you to this shop.`)),
        h('div', { class: 'story' }, l.shop.story.split('\n').map((x) => h('p', {}, x))),
        action(L('进店看看', 'Visit the shop'), async () => { await visit(); go(`/shop/${l.shop.id}`); }, 'primary wide')),
    ];
  }
  sessionStorage.setItem(`quanzi.via.${l.product.id}`, token);
  const p = await get(`/products/${l.product.id}`);
  return [
    h('p', { class: 'muted' }, l.shop.name),
    h('h1', {}, l.product.title),
    p.images.length ? h('img', { src: p.images[0].url, alt: p.title, class: 'big' }) : null,
    h('p', { class: 'price big' }, money(l.product.price_fen)),
    card(
      h('p', {}, h('b', {}, l.sharer.display_name), L(' 推荐了它', ' recommends it')),
      h('p', { class: 'muted' }, L(`TA ${experienceText(l.sharer)}。`, `They ${experienceText(l.sharer)}.`)),
      l.share.note ? h('blockquote', {}, l.share.note) : null,
      h('p', { class: 'why' }, l.matched_interests.length
        ? L(`你看到它，是因为你关注：${l.matched_interests.join('、')}`, `You see it because you follow: ${l.matched_interests.join(', ')}`)
        : L('你看到它，是因为有朋友把链接发给了你。', 'You see it because a friend sent you the link.'))),
    h('div', { class: 'description' }, (p.description || '').split('\n').map((x) => h('p', {}, x))),
    l.product.status === 'on_sale'
      ? action(L('去购买', 'Buy it'), async () => { await visit(); go(`/product/${l.product.id}?via=${encodeURIComponent(token)}`); }, 'primary wide')
      : h('p', { class: 'notice' }, L('这件商品已下架。', 'This product is not on sale.')),
    state.user && l.share.hop >= 1 ? await shareBox(l.product.id, l.shop.id, l.share.id) : null,
  ];
}
