// The buyer's side of a shop: its home (story, products, circles to join) and a
// product page (feedback from those who received it, buy, recommend).
import { api, get, post, newKey, ApiError } from '../api.mjs';
import { L, errorText } from '../i18n.mjs';
import { h, money, day, field, form, card, empty, tagsOf, link, toast, badge } from '../ui.mjs';
import { state, go, setCurrentShop } from '../app.mjs';

const image = (p, cls) => (p.images && p.images.length
  ? h('img', { src: p.images[0].url, alt: p.title, class: cls, loading: 'lazy' })
  : h('div', { class: `${cls} noimg`, 'aria-hidden': 'true' }, (p.title || '?').slice(0, 1)));

export async function home({ params }) {
  const id = Number(params.id) || state.homeShopId;
  if (!id) {
    return empty(L('这里还没有店铺。', 'There is no shop here yet.'),
      state.user ? link('/open-shop', L('开一家店', 'Open a shop')) : link('/register', L('注册后开一家店', 'Sign up to open a shop')));
  }
  setCurrentShop(id);
  const [s, products] = await Promise.all([get(`/shops/${id}`), get(`/shops/${id}/products?limit=100&status=on_sale`)]);
  const runs = state.user && state.user.shops.some((x) => x.id === id);
  const joinForm = state.user
    ? form({ class: 'inline' }, [
      field(L('圈子邀请码', 'Circle invite code'), { name: 'invite_code', required: true, autocomplete: 'off', placeholder: 'WR636D75' }),
      h('button', { type: 'submit' }, L('加入圈子', 'Join')),
    ], async (v) => {
      const c = await post('/circles/join', { invite_code: v.invite_code.trim() });
      toast(L(`已加入「${c.name}」`, `You joined “${c.name}”`));
      go(location.pathname);
    })
    : h('p', {}, link(`/login?next=${encodeURIComponent(location.pathname)}`, L('登录', 'Log in')), L('后可用邀请码加入圈子', ' to join a circle with its invite code'));
  return [
    h('section', { class: 'hero' },
      h('h1', {}, s.name),
      h('p', { class: 'owner' }, L(`店主 ${s.owner.display_name}`, `Run by ${s.owner.display_name}`)),
      h('div', { class: 'story' }, s.story.split('\n').map((line) => h('p', {}, line))),
      runs ? link('/seller', h('span', { class: 'button' }, L('进入卖家后台', 'Seller dashboard'))) : null),
    h('h2', {}, L('商品', 'Products')),
    products.items.length
      ? h('ul', { class: 'products' }, products.items.map((p) => h('li', {},
        link(`/product/${p.id}`, image(p, 'thumb'),
          h('div', { class: 'info' }, h('b', {}, p.title), tagsOf(p.tags), h('span', { class: 'price' }, money(p.price_fen)))))))
      : empty(L('店里还没有在售的商品。', 'Nothing is on sale yet.'), runs ? link('/seller/products', L('去上架商品', 'Add a product')) : null),
    card(h('h2', {}, L('加入圈子', 'Join a circle')),
      h('p', { class: 'muted' }, L('圈子是店主和熟人的小群。拿到邀请码就能加入，看到圈子里朋友的推荐。', 'Circles are the small groups around this shop. With an invite code you join and see what friends there recommend.')),
      joinForm),
    card(h('h2', {}, L('推广员', 'Promoters')),
      h('p', { class: 'muted' }, L(`用过觉得好，可以推荐给朋友：卖出一单得 ${s.l1_bps / 100}% 佣金。不收任何费用，拉人不给钱。`, `Liked it? Recommend it: ${s.l1_bps / 100}% on each sale. No fee to join; nothing is paid for recruiting.`)),
      link('/promoter', L('了解推广规则', 'Read the promoter terms'))),
  ];
}

function remembered() {
  try { return JSON.parse(localStorage.getItem('quanzi.address')) || {}; } catch { return {}; }
}

function buyForm(p, shareToken) {
  if (p.status !== 'on_sale') return h('p', { class: 'notice' }, L('这件商品已下架。', 'This product is not on sale.'));
  if (p.stock <= 0) return h('p', { class: 'notice' }, L('卖完了，过几天再来看看。', 'Sold out for now.'));
  if (!state.user) {
    const back = location.pathname + location.search;
    return h('p', { class: 'notice' }, link(`/login?next=${encodeURIComponent(back)}`, L('登录后购买', 'Log in to buy')));
  }
  const max = Math.min(p.stock, p.buyer_cap_30d);
  const a = remembered();
  const key = newKey();
  return form({ class: 'buy' }, [
    h('h2', {}, L('购买', 'Buy')),
    field(L('数量', 'Quantity'), { name: 'qty', type: 'number', min: 1, max, value: 1, inputmode: 'numeric' },
      L(`每人 30 天内最多买 ${p.buyer_cap_30d} 件`, `At most ${p.buyer_cap_30d} per person in 30 days`)),
    field(L('收货人', 'Recipient'), { name: 'address.name', value: a.name || '', autocomplete: 'name' }),
    field(L('电话', 'Phone'), { name: 'address.phone', value: a.phone || '', type: 'tel', autocomplete: 'tel' }),
    field(L('地区', 'Region'), { name: 'address.region', value: a.region || '', placeholder: L('省 市 区', 'Province, city') }),
    field(L('详细地址', 'Street address'), { name: 'address.line', value: a.line || '', autocomplete: 'street-address' }),
    h('button', { type: 'submit', class: 'primary' }, L('提交订单', 'Place the order')),
  ], async (v) => {
    const qty = Number(v.qty);
    if (!Number.isInteger(qty) || qty < 1 || qty > max) {
      throw new ApiError(400, 'out_of_range', '', 'qty');
    }
    const address = { name: v['address.name'].trim(), phone: v['address.phone'].trim(), region: v['address.region'].trim(), line: v['address.line'].trim() };
    localStorage.setItem('quanzi.address', JSON.stringify(address));
    const body = { shop_id: p.shop_id, items: [{ product_id: p.id, qty }], address };
    if (shareToken) body.share_token = shareToken;
    const o = await api('POST', '/orders', body, { 'Idempotency-Key': key });
    go(`/orders/${o.id}`);
  });
}

// Who may recommend this product, and to whom: the circle's preview (counts only),
// or the reason in words when the member may not.
export async function shareBox(productId, shopId, parentShareId) {
  const box = card(h('h2', {}, parentShareId ? L('再推荐给我的圈子', 'Recommend it on to my circle') : L('推荐给圈子', 'Recommend it to a circle')));
  if (!state.user) {
    box.append(h('p', { class: 'muted' }, L('登录后，亲自用过的人可以推荐给圈子里的朋友。', 'Log in: people who used it may recommend it to their circle.')));
    return box;
  }
  const circles = (await get('/me/circles')).items.filter((c) => c.shop_id === shopId);
  const options = circles.map((c) => [`circle:${c.id}`, c.name]);
  options.push(['contacts', L('我的联系人', 'My contacts')]);
  const target = (v) => (v.startsWith('circle:') ? { circle_id: Number(v.slice(7)) } : { audience: 'contacts' });
  const base = parentShareId ? { parent_share_id: parentShareId } : { product_id: productId };
  const preview = h('p', { class: 'muted preview' });
  const reason = h('p', { class: 'refusal', role: 'alert' });
  const f = form({ class: 'share' }, [
    field(L('推荐到', 'Recommend to'), { tag: 'select', name: 'to', options, value: options[0][0] }),
    field(L('说说你的体验', 'Say how you found it'), { tag: 'textarea', name: 'note', rows: 2, maxlength: 200 }),
    h('button', { type: 'submit', class: 'primary' }, L('推荐', 'Recommend')),
  ], async (v) => {
    const s = await post('/shares', { ...base, ...target(v.to), note: v.note.trim() });
    toast(L(`已推荐：送达 ${s.report.delivered} 人`, `Recommended: delivered to ${s.report.delivered}`));
    go(`/shares/${s.id}`);
  });
  const check = async () => {
    reason.textContent = '';
    preview.textContent = '';
    try {
      const p = await post('/shares/preview', { ...base, ...target(f.elements.to.value) });
      const r = p.report;
      preview.textContent = L(`圈子里 ${r.candidates} 人，兴趣相近、没有屏蔽你、今天还没收够推荐的 ${r.delivered} 人会收到。`,
        `${r.candidates} people there; ${r.delivered} whose interests match, who did not mute you and have room today will get it.`);
      f.hidden = false;
    } catch (e) {
      if (!(e instanceof ApiError) || e.status >= 500 || e.status === 401) throw e;
      reason.textContent = errorText(e);
      f.hidden = e.code === 'experience_required' || e.code === 'hop_limit';
    }
  };
  f.elements.to.addEventListener('change', check);
  box.append(f, preview, reason, h('p', { class: 'fineprint' },
    L('推荐不会给你带来额外奖励；只有朋友通过你的推荐买了并且没退货，你才有佣金。', 'Recommending earns nothing by itself; only a sale through it that is kept pays a commission.')));
  await check();
  return box;
}

export async function product({ params, query }) {
  const p = await get(`/products/${params.id}`);
  setCurrentShop(p.shop_id);
  const via = query.get('via') || sessionStorage.getItem(`quanzi.via.${p.id}`);
  const feedback = await get(`/products/${p.id}/feedback?limit=20`);
  const runs = state.user && state.user.shops.some((x) => x.id === p.shop_id);
  return [
    h('div', { class: 'gallery' }, p.images.length ? p.images.map((i) => h('img', { src: i.url, alt: p.title })) : image(p, 'big')),
    h('h1', {}, p.title),
    h('p', { class: 'price big' }, money(p.price_fen)),
    tagsOf(p.tags),
    h('p', { class: 'muted' }, L(`库存 ${p.stock}`, `${p.stock} in stock`), ' · ', link(`/shop/${p.shop_id}`, L('进店看看', 'Visit the shop'))),
    h('div', { class: 'description' }, (p.description || '').split('\n').map((x) => h('p', {}, x))),
    runs ? h('p', {}, badge(L('你是店家', 'You run this shop')), ' ', link('/seller/products', L('管理商品', 'Manage products'))) : null,
    buyForm(p, via),
    card(h('h2', {}, L(`已体验 · ${feedback.items.length}`, `Experienced · ${feedback.items.length}`)),
      feedback.items.length
        ? h('ul', { class: 'feedback' }, feedback.items.map((f) => h('li', {},
          h('b', {}, f.buyer.display_name), ' ', h('span', { class: 'stars', 'aria-label': `${f.rating}/5` }, '★'.repeat(f.rating) + '☆'.repeat(5 - f.rating)),
          h('p', {}, f.text), h('small', {}, day(f.created_at)))))
        : empty(L('还没有收到货的人留下体验。', 'Nobody who received it has left a word yet.'))),
    await shareBox(p.id, p.shop_id, null),
  ];
}
