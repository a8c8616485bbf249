// The seller's dashboard: orders to confirm and ship, after-sales, follow-ups,
// promoters, withdrawals, products, circles, settings, funnel, ledger, audit, reports.
import { api, get, post, patch, all } from '../api.mjs';
import { L, stateText, errorText } from '../i18n.mjs';
import { h, money, time, day, pct, toFen, field, form, card, empty, link, action, toast, badge, tagsOf, parseTags, tagsText, copyButton } from '../ui.mjs';
import { go, myShop } from '../app.mjs';
import { orderRow, shopActions, statusBadge } from './orders.mjs';
import { funnel } from '../chart.mjs';

// The tabs, in order, with their names in the chosen language.
const tabWords = () => ({
  orders: L('订单', 'Orders'), aftersales: L('售后', 'After-sales'), followups: L('回访', 'Follow-ups'),
  promoters: L('推广员', 'Promoters'), withdrawals: L('提现', 'Withdrawals'), products: L('商品', 'Products'),
  circles: L('圈子', 'Circles'), stats: L('推荐漏斗', 'Funnel'), reports: L('举报', 'Reports'),
  ledger: L('账本', 'Ledger'), audit: L('合规', 'Audit'), settings: L('设置', 'Settings'),
});

export async function dashboard({ params }) {
  const shop = myShop();
  if (!shop) return empty(L('你还没有店铺。', 'You do not run a shop yet.'), link('/open-shop', L('开一家店', 'Open a shop')));
  const tab = params.tab || 'orders';
  const draw = PAGES[tab];
  if (!draw) return empty(L('没有这个页面', 'No such page'), link('/seller', L('卖家后台', 'Dashboard')));
  const words = tabWords();
  const tabs = Object.keys(words);
  const reload = () => go(`/seller/${tab}`, true);
  return [
    h('h1', {}, `${shop.name} · ${words[tab]}`),
    h('nav', { class: 'subtabs' }, tabs.map((k) => h('a', { href: `/seller/${k}`, 'data-link': '', class: k === tab ? 'on' : '' }, words[k]))),
    await draw(shop.id, reload),
  ];
}

async function orders(shopId, reload) {
  const [created, paid, recent] = await Promise.all([
    get(`/shops/${shopId}/orders?status=created&limit=50`), get(`/shops/${shopId}/orders?status=paid&limit=50`),
    get(`/shops/${shopId}/orders?limit=20`)]);
  const withActions = (o) => h('li', { class: 'card order-todo' }, h('ul', { class: 'rows' }, orderRow(o)), shopActions(o, reload));
  return [
    h('h2', {}, L(`待确认收款 · ${created.items.length}`, `To confirm payment · ${created.items.length}`)),
    created.items.length ? h('ul', { class: 'todo' }, created.items.map(withActions)) : h('p', { class: 'muted' }, L('没有待确认的订单。', 'Nothing to confirm.')),
    h('h2', {}, L(`待发货 · ${paid.items.length}`, `To ship · ${paid.items.length}`)),
    paid.items.length ? h('ul', { class: 'todo' }, paid.items.map(withActions)) : h('p', { class: 'muted' }, L('没有待发货的订单。', 'Nothing to ship.')),
    await anomalies(shopId),
    h('h2', {}, L('最近的订单', 'Recent orders')),
    recent.items.length ? h('ul', { class: 'rows orders' }, recent.items.map((o) => orderRow(o)))
      : empty(L('还没有订单。把商品分享到圈子里吧。', 'No orders yet. Share a product into a circle.'), link('/seller/circles', L('管理圈子', 'Circles'))),
  ];
}

async function aftersales(shopId, reload) {
  const refunds = await get(`/shops/${shopId}/refunds?limit=50`);
  return refunds.items.length ? h('ul', { class: 'todo' }, refunds.items.map((r) => h('li', { class: 'card' },
    h('p', {}, link(`/orders/${r.order_id}`, L(`订单 #${r.order_id}`, `Order #${r.order_id}`)), ' ', h('b', {}, money(r.amount_fen)), ' ', statusBadge(r.status)),
    h('p', {}, r.reason), h('small', {}, time(r.created_at)),
    r.status === 'requested' ? h('div', { class: 'actions' },
      action(L('同意退款', 'Approve'), async () => { await post(`/refunds/${r.id}/approve`, {}); toast(L('已同意退款', 'Refund approved')); reload(); }, 'primary'),
      action(L('拒绝', 'Refuse'), async () => { await post(`/refunds/${r.id}/reject`, {}); toast(L('已拒绝', 'Refused')); reload(); })) : null)))
    : empty(L('没有待处理的售后。', 'No refund requests.'));
}

async function followups(shopId, reload) {
  const [due, upcoming] = await Promise.all([get(`/shops/${shopId}/followups?status=due&limit=50`), get(`/shops/${shopId}/followups?status=upcoming&limit=20`)]);
  const kind = (f) => (f.kind === 'experience' ? L('收货三天，问问体验', 'Three days after delivery: ask how it was') : L(`该回购了：${f.product ? f.product.title : ''}`, `Time to buy again: ${f.product ? f.product.title : ''}`));
  const row = (f, canDo) => h('li', {}, h('div', { class: 'row-main' }, h('b', {}, f.buyer.display_name), h('small', {}, ` ${kind(f)} · ${day(f.due_at)}`)),
    canDo ? action(L('已联系', 'Done'), async () => { await post(`/followups/${f.id}/done`, {}); reload(); }, 'small') : null);
  return [
    h('h2', {}, L('今天该跟进的', 'Due now')),
    due.items.length ? h('ul', { class: 'rows' }, due.items.map((f) => row(f, true))) : h('p', { class: 'muted' }, L('今天没有要跟进的顾客。', 'Nobody to follow up today.')),
    h('h2', {}, L('接下来', 'Coming up')),
    upcoming.items.length ? h('ul', { class: 'rows' }, upcoming.items.map((f) => row(f, false))) : h('p', { class: 'muted' }, L('发货并收货后会自动安排回访。', 'Follow-ups are scheduled when orders are received.')),
  ];
}

async function promoters(shopId, reload) {
  const list = await get(`/shops/${shopId}/promoters?limit=100`);
  return list.items.length ? h('ul', { class: 'rows' }, list.items.map((p) => h('li', {},
    h('div', { class: 'row-main' }, h('b', {}, p.display_name), h('small', {},
      p.inviter_name ? L(` 由 ${p.inviter_name} 邀请`, ` invited by ${p.inviter_name}`) : '', L(` · ${p.orders} 单 ${money(p.sales_fen)}`, ` · ${p.orders} orders ${money(p.sales_fen)}`))),
    h('div', { class: 'row-side' }, badge(stateText(p.status), p.status),
      p.status !== 'active' ? action(L('批准', 'Approve'), async () => { await post(`/promoters/${p.id}/approve`); toast(L(`已批准 ${p.display_name}`, `Approved ${p.display_name}`)); reload(); }, 'small primary') : null,
      p.status === 'active' ? action(L('暂停', 'Suspend'), async () => { await post(`/promoters/${p.id}/suspend`); reload(); }, 'small') : null))))
    : empty(L('还没有推广员。买过觉得好的顾客可以在推广中心申请。', 'No promoters yet. Buyers who liked a product can apply in the promoter centre.'));
}

const WSTATUS = { requested: ['待审核', 'to review'], approved: ['待打款', 'to pay'], paid: ['已打款', 'paid'], rejected: ['已拒绝', 'refused'] };
async function withdrawals(shopId, reload) {
  const list = await get(`/shops/${shopId}/withdrawals?limit=50`);
  return list.items.length ? h('ul', { class: 'todo' }, list.items.map((w) => h('li', { class: 'card' },
    h('p', {}, h('b', {}, w.promoter_name), ' ', money(w.amount_fen), ' ', badge(L(...WSTATUS[w.status]), `w-${w.status}`)),
    h('small', {}, time(w.created_at)),
    w.status === 'requested' ? h('div', { class: 'actions' },
      action(L('同意', 'Approve'), async () => { await post(`/withdrawals/${w.id}/approve`); reload(); }, 'primary'),
      action(L('拒绝', 'Refuse'), async () => { await post(`/withdrawals/${w.id}/reject`, {}); reload(); })) : null,
    w.status === 'approved' ? action(L('微信转账到零钱', 'Pay to WeChat balance'), async () => {
      const x = await post(`/withdrawals/${w.id}/wechatpay`);
      toast(x.wechatpay_transfer === 'done' ? L('已到账', 'Paid') : L('已发起微信转账，等推广员确认收款', 'Transfer started; the promoter confirms it in WeChat'));
      reload();
    }) : null,
    w.status === 'approved' ? form({ class: 'inline' }, [
      field(L('转账凭证', 'Transfer reference'), { name: 'reference', required: true }),
      h('button', { type: 'submit', class: 'primary' }, L('已打款', 'Mark paid')),
    ], async (v) => { await post(`/withdrawals/${w.id}/pay`, { reference: v.reference.trim() }); toast(L('已记录打款', 'Payout recorded')); reload(); }) : null)))
    : empty(L('没有提现申请。', 'No withdrawal requests.'));
}

function productForm(p, shopId, reload) {
  const isNew = !p;
  p = p || { title: '', description: '', price_fen: '', stock: 10, tags: {}, status: 'draft' };
  return form({ class: 'product-form' }, [
    field(L('商品名称', 'Title'), { name: 'title', value: p.title, required: true }),
    field(L('价格（元）', 'Price (yuan)'), { name: 'price', inputmode: 'decimal', value: p.price_fen === '' ? '' : (p.price_fen / 100).toFixed(2), required: true }),
    field(L('库存', 'Stock'), { name: 'stock', type: 'number', min: 0, value: p.stock }),
    field(L('标签', 'Tags'), { name: 'tags', value: tagsText(p.tags) }, L('兴趣标签和权重，如 坚果:0.9, 农产品:0.6', 'Interest tags with weights, like 坚果:0.9, 农产品:0.6')),
    field(L('描述', 'Description'), { tag: 'textarea', name: 'description', rows: 3, value: p.description }),
    field(L('状态', 'Status'), { tag: 'select', name: 'status', value: p.status, options: [['draft', L('草稿', 'Draft')], ['on_sale', L('在售', 'On sale')], ['off', L('下架', 'Off sale')]] }),
    h('button', { type: 'submit', class: 'primary' }, isNew ? L('添加商品', 'Add the product') : L('保存', 'Save')),
  ], async (v) => {
    const body = { title: v.title.trim(), description: v.description.trim(), price_fen: toFen(v.price), stock: Number(v.stock), tags: parseTags(v.tags), status: v.status };
    if (Number.isNaN(body.price_fen)) throw Object.assign(new Error(), { code: 'wrong_type', field: 'price_fen' });
    if (isNew) await post(`/shops/${shopId}/products`, body);
    else await patch(`/products/${p.id}`, body);
    toast(isNew ? L('已添加', 'Added') : L('已保存', 'Saved'));
    reload();
  });
}

function imageUpload(p, reload) {
  const input = h('input', { type: 'file', accept: 'image/png,image/jpeg,image/webp', name: 'image', class: 'file' });
  input.addEventListener('change', async () => {
    const file = input.files[0];
    if (!file) return;
    try {
      await api('POST', `/products/${p.id}/images`, file);
      toast(L('图片已上传', 'Image uploaded'));
      reload();
    } catch (e) {
      toast(errorText(e), true);
    }
  });
  return h('label', { class: 'upload' }, L('上传图片', 'Upload an image'), input);
}

async function products(shopId, reload) {
  const list = await all(`/shops/${shopId}/products?status=any&limit=100`, 300);
  return [
    card(h('h2', {}, L('添加商品', 'Add a product')), productForm(null, shopId, reload)),
    list.length ? h('ul', { class: 'todo' }, list.map((p) => h('li', { class: 'card product-admin' },
      h('div', { class: 'product-line' },
        p.images.length ? h('img', { src: p.images[0].url, alt: '', class: 'thumb' }) : h('div', { class: 'thumb noimg' }, p.title.slice(0, 1)),
        h('div', {}, link(`/product/${p.id}`, h('b', {}, p.title)), h('div', {}, money(p.price_fen), ' ', badge(stateText(p.status), p.status)), tagsOf(p.tags),
          h('small', {}, L(`库存 ${p.stock}`, `${p.stock} in stock`)))),
      h('div', { class: 'actions' },
        p.status !== 'on_sale' ? action(L('上架', 'Put on sale'), async () => { await patch(`/products/${p.id}`, { status: 'on_sale' }); toast(L('已上架', 'On sale')); reload(); }, 'primary') : null,
        p.status === 'on_sale' ? action(L('下架', 'Take off sale'), async () => { await patch(`/products/${p.id}`, { status: 'off' }); reload(); }) : null,
        imageUpload(p, reload)),
      h('details', {}, h('summary', {}, L('编辑', 'Edit')), productForm(p, shopId, reload)))))
      : empty(L('还没有商品，先添加一件。', 'No products yet: add the first one above.')),
  ];
}

const KINDS = () => [['parents', L('家长群', 'Parents')], ['neighbourhood', L('邻里', 'Neighbourhood')], ['fitness', L('运动', 'Fitness')], ['interest', L('兴趣', 'Interest')], ['other', L('其他', 'Other')]];
async function circles(shopId, reload) {
  const list = await get(`/shops/${shopId}/circles`);
  return [
    card(h('h2', {}, L('新建圈子', 'New circle')), form({ class: 'circle-form' }, [
      field(L('圈子名称', 'Name'), { name: 'name', required: true }),
      field(L('类型', 'Kind'), { tag: 'select', name: 'kind', value: 'interest', options: KINDS() }),
      field(L('人数上限', 'Capacity'), { name: 'capacity', type: 'number', min: 2, max: 500, value: 200 }),
      field(L('兴趣标签', 'Interest tags'), { name: 'tags' }, L('如 母婴:0.9, 零食:0.5', 'like 母婴:0.9, 零食:0.5')),
      h('button', { type: 'submit', class: 'primary' }, L('创建', 'Create')),
    ], async (v) => {
      await post(`/shops/${shopId}/circles`, { name: v.name.trim(), kind: v.kind, capacity: Number(v.capacity), tags: parseTags(v.tags) });
      toast(L('圈子已创建', 'Circle created'));
      reload();
    })),
    list.items.length ? h('ul', { class: 'todo' }, list.items.map((c) => h('li', { class: 'card circle' },
      h('p', {}, h('b', {}, c.name), h('small', {}, L(` ${c.member_count}/${c.capacity} 人`, ` ${c.member_count}/${c.capacity} people`))), tagsOf(c.tags),
      h('p', {}, L('邀请码 ', 'Invite code '), h('code', { class: 'invite-code' }, c.invite_code || '—'), ' ', c.invite_code ? copyButton(c.invite_code, L('邀请码已复制', 'Invite code copied')) : null,
        action(L('换一个', 'New code'), async () => { await post(`/circles/${c.id}/invite-code`); reload(); }, 'small')))))
      : empty(L('还没有圈子。为一个家长群、小区或跑团建一个圈子，把邀请码发到群里。', 'No circles yet. Make one for a parents\' group, a neighbourhood or a running club, and post its invite code there.')),
  ];
}

const ANOMALIES = {
  amount_mismatch: ['付款金额与订单不符', 'paid amount is not the order\'s'], merchant_mismatch: ['其他商户的付款', 'another merchant\'s payment'],
  unknown_order: ['找不到对应订单', 'no such order'], order_not_payable: ['订单已取消或已付款，需退给买家', 'order cancelled or paid already: refund the buyer'],
  refund_failed: ['微信退款未成功', 'WeChat Pay refund failed'], transfer_mismatch: ['转账金额不符', 'transfer amount differs'],
};
async function anomalies(shopId) {
  const list = await get(`/shops/${shopId}/payment-anomalies?limit=50`);
  return list.items.length
    ? card(h('h2', {}, L('支付异常（需要处理）', 'Payment problems (to handle)')), h('ul', { class: 'rows' }, list.items.map((x) => h('li', {},
      h('div', { class: 'row-main' }, h('b', {}, ANOMALIES[x.kind] ? L(...ANOMALIES[x.kind]) : x.kind),
        h('small', {}, `${x.order_id ? `#${x.order_id} · ` : ''}${money(x.amount_fen)} · ${time(x.created_at)} · ${x.detail}`))))))
    : null;
}

async function stats(shopId) {
  const s = await get(`/shops/${shopId}/stats`);
  return [h('p', { class: 'muted' }, L(`${day(s.from)} 至 ${day(s.to)}（中国时间）`, `${day(s.from)} to ${day(s.to)} (China time)`)), funnel(s.hops)];
}

async function reports(shopId, reload) {
  const list = await get(`/shops/${shopId}/reports?limit=50`);
  return list.items.length ? h('ul', { class: 'todo' }, list.items.map((x) => h('li', { class: 'card' },
    h('p', {}, L(`${x.reporter.display_name} 举报了 ${x.sharer.display_name} 的推荐 #${x.share_id}`, `${x.reporter.display_name} reported ${x.sharer.display_name}'s recommendation #${x.share_id}`)),
    h('p', {}, x.reason), h('small', {}, time(x.created_at)),
    h('div', { class: 'actions' },
      action(L('成立', 'Uphold'), async () => { await post(`/reports/${x.id}/uphold`, {}); reload(); }, 'primary'),
      action(L('驳回', 'Dismiss'), async () => { await post(`/reports/${x.id}/dismiss`, {}); reload(); })))))
    : empty(L('没有待处理的举报。', 'No open reports.'));
}

const ACCOUNTS = { external: ['外部资金', 'outside money'], revenue: ['销售收入', 'revenue'], commission: ['佣金支出', 'commission'], pending: ['待结算佣金', 'pending commission'], available: ['可提现佣金', 'available commission'], withdrawing: ['提现中', 'withdrawing'], refunds: ['退款', 'refunds'] };
async function ledger(shopId) {
  const l = await get(`/shops/${shopId}/ledger?limit=30`);
  const acc = (k) => (ACCOUNTS[k] ? L(...ACCOUNTS[k]) : k);
  return [
    card(h('h2', {}, L('账户余额', 'Balances')), h('table', { class: 'ledger' },
      h('tbody', {}, l.accounts.map((a) => h('tr', {}, h('td', {}, acc(a.kind), a.promoter_id ? ` · P${a.promoter_id}` : ''), h('td', { class: 'num' }, money(a.balance_fen))))))),
    h('h2', {}, L('流水（每笔借贷平衡）', 'Transactions (each balances to zero)')),
    h('ul', { class: 'rows ledger-tx' }, l.items.map((t) => h('li', {},
      h('div', { class: 'row-main' }, h('b', {}, t.memo), h('small', {}, ` ${time(t.created_at)}`)),
      h('div', { class: 'entries' }, t.entries.map((e) => h('span', {}, `${acc(e.account)} ${money(e.amount_fen)}`)))))),
  ];
}

// What each finding of the audit checks, in words (the API's own text is English).
const FINDINGS = {
  max_chain_depth: ['一笔订单最多几个人拿佣金（最多 2）', 'most people paid commission on one order (at most 2)'],
  recruiting_commission_fen: ['因拉人而不是零售付出的钱（必须为 0）', 'money paid for anything but retail sales (must be 0)'],
  entry_fees_fen: ['向推广员收取的钱，扣回和提现除外（必须为 0）', 'money taken from promoters except clawbacks and payouts (must be 0)'],
  consumer_share_bps: ['卖给非推广员顾客的金额占比', 'share of sales to buyers who are not promoters'],
  l2_commission_share_bps: ['二级佣金占全部佣金的比例', 'share of commission paid at level 2'],
  self_purchases_blocked: ['通过自己链接购买而没有佣金的订单', 'purchases through one\'s own link that earned nothing'],
  promoters_over_personal_use: ['30 天内买到限购上限的推广员', 'promoters who bought up to the cap in 30 days'],
  invite_cycles_rejected: ['因循环或自邀被拒绝的邀请', 'invitations refused as loops or self-invites'],
  max_commission_bps: ['一笔订单付出的最高佣金率', 'highest commission rate one order paid'],
  max_share_hop: ['推荐被转发的最长链（最多 2 跳）', 'longest chain a recommendation travelled (at most 2)'],
  hop2_delivery_share_bps: ['第 2 跳送达占全部送达的比例', 'share of deliveries at hop 2'],
  hop2_order_share_bps: ['通过第 2 跳成交的订单占比', 'share of orders that came through hop 2'],
};
const findingValue = (f, v) => (v === undefined || v === null ? '—' : f.name.endsWith('_bps') ? pct(v) : f.name.endsWith('_fen') ? money(v) : String(v));

async function audit(shopId) {
  const a = await get(`/shops/${shopId}/audit`);
  return [
    h('p', { class: a.ok ? 'ok-line' : 'bad-line' }, a.ok ? L('全部合规', 'All rules hold') : L('有规则没有满足', 'Some rule does not hold'), h('small', {}, ` ${time(a.at)}`)),
    h('ul', { class: 'rows audit' }, a.findings.map((f) => h('li', { class: f.ok ? 'ok' : 'bad', 'data-finding': f.name },
      h('div', { class: 'row-main' }, h('b', {}, f.rule), h('small', {}, FINDINGS[f.name] ? L(...FINDINGS[f.name]) : f.about)),
      h('div', { class: 'row-side' }, h('b', { class: 'value', 'data-value': f.value }, findingValue(f, f.value)),
        f.limit !== undefined ? h('small', {}, ` ≤ ${findingValue(f, f.limit)}`) : null, f.ok ? ' ✓' : ' ✗')))),
  ];
}

const SETTINGS = [
  ['l1_bps', L('一级佣金（基点，100 = 1%）', 'Level-1 rate (basis points, 100 = 1%)')],
  ['l2_bps', L('二级佣金（基点）', 'Level-2 rate (basis points)')],
  ['settle_days', L('退货期（天）', 'Return window (days)')],
  ['binding_days', L('顾客绑定期（天）', 'Binding window (days)')],
  ['l2_active_days', L('二级佣金要求的近期成交（天）', 'Level 2 needs a sale within (days)')],
  ['withdraw_min_fen', L('最低提现（分）', 'Minimum withdrawal (fen)')],
  ['similarity_min', L('推荐相似度门槛（0–1）', 'Similarity threshold (0–1)')],
  ['buyer_cap_30d', L('每人 30 天限购', 'Per-buyer cap in 30 days')],
  ['feed_daily_shop', L('每人每天最多收到本店推荐', 'Recommendations per member per day from this shop')],
];
const WECHAT_FIELDS = [
  ['mchid', L('商户号', 'Merchant id')], ['appid', L('AppID（公众号或小程序）', 'AppID')],
  ['serial_no', L('商户API证书序列号', 'Merchant certificate serial')],
  ['private_key', L('商户私钥在哪（密钥目录里的文件名，或 env:QUANZI_WECHATPAY_…）', 'Merchant private key: where (a file in the key folder, or env:QUANZI_WECHATPAY_…)')],
  ['apiv3_key', L('APIv3 密钥在哪', 'APIv3 key: where')], ['public_key_id', L('微信支付公钥ID', 'WeChat Pay public key id')],
  ['public_key', L('微信支付公钥在哪', 'WeChat Pay public key: where')], ['app_secret', L('AppSecret 在哪（微信登录，选填）', 'AppSecret: where (WeChat sign-in, optional)')],
];
async function wechatSettings(shopId, reload) {
  const w = await get(`/shops/${shopId}/wechatpay`);
  return card(h('h2', {}, L('微信支付', 'WeChat Pay')),
    h('p', { class: 'muted' }, w.configured ? L('已开通。买家可以用微信付款，退款和佣金提现也走微信。', 'On: buyers pay with WeChat; refunds and payouts go through it.')
      : L('填好商户信息后，买家就能用微信付款。密钥文件由服务器管理员放在服务器的密钥目录里，这里只填文件名，不填密钥本身。', 'Fill in your merchant details and buyers can pay with WeChat. The server\'s operator puts the key files in its key folder; here you name them, never paste a key.')),
    h('p', { class: 'fineprint' }, L(`支付通知地址：${location.origin}${w.notify_path}`, `Notify URL: ${location.origin}${w.notify_path}`)),
    form({ class: 'settings' }, [
      WECHAT_FIELDS.map(([k, label]) => field(label, { name: k, value: w[k] || '', autocapitalize: 'off' })),
      h('button', { type: 'submit', class: 'primary' }, L('保存微信支付设置', 'Save WeChat Pay settings')),
    ], async (v) => {
      const body = Object.fromEntries(WECHAT_FIELDS.map(([k]) => [k, v[k].trim()]).filter(([k, x]) => x || k !== 'app_secret'));
      await api('PUT', `/shops/${shopId}/wechatpay`, body);
      toast(L('已保存', 'Saved'));
      reload();
    }));
}

async function settings(shopId, reload) {
  const s = await get(`/shops/${shopId}`);
  const t = await get(`/shops/${shopId}/promoter-terms`);
  return [
    card(h('h2', {}, L('佣金和规则', 'Rates and rules')),
      h('p', { class: 'muted' }, L(`两级佣金合计不超过 ${pct(t.platform_max_bps)}。`, `The two levels together stay within ${pct(t.platform_max_bps)}.`)),
      form({ class: 'settings' }, [
        SETTINGS.map(([k, label]) => field(label, { name: k, value: s[k], inputmode: 'decimal' })),
        h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'promoter_auto_approve', checked: s.promoter_auto_approve }), L('自动批准推广员申请', 'Approve promoter applications automatically')),
        h('button', { type: 'submit', class: 'primary' }, L('保存设置', 'Save settings')),
      ], async (v) => {
        const body = {};
        for (const [k] of SETTINGS) if (String(v[k]) !== String(s[k])) body[k] = Number(v[k]);
        if (Boolean(v.promoter_auto_approve) !== s.promoter_auto_approve) body.promoter_auto_approve = Boolean(v.promoter_auto_approve);
        if (Object.keys(body).length) await patch(`/shops/${shopId}`, body);
        toast(L('已保存', 'Saved'));
        reload();
      })),
    card(h('h2', {}, L('店铺资料', 'Profile')), form({ class: 'settings' }, [
      field(L('店铺名称', 'Shop name'), { name: 'name', value: s.name }),
      field(L('店铺故事', 'Story'), { tag: 'textarea', name: 'story', rows: 4, value: s.story }),
      h('button', { type: 'submit' }, L('保存资料', 'Save profile')),
    ], async (v) => { await patch(`/shops/${shopId}`, { name: v.name.trim(), story: v.story.trim() }); toast(L('已保存', 'Saved')); reload(); })),
    s.role === 'owner' ? await wechatSettings(shopId, reload) : null,
    h('p', { class: 'muted' }, L(`试用到 ${day(s.trial_ends_at)}`, `Trial until ${day(s.trial_ends_at)}`)),
  ];
}

const PAGES = { orders, aftersales, followups, promoters, withdrawals, products, circles, stats, reports, ledger, audit, settings };
