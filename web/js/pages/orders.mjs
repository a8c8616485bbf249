// My orders and one order: its timeline, and what its buyer (or the shop) can do now.
import { get, post, all } from '../api.mjs';
import { L, stateText } from '../i18n.mjs';
import { h, money, time, toFen, field, form, card, empty, link, action, badge, toast } from '../ui.mjs';
import { state, go } from '../app.mjs';

const EVENTS = {
  created: ['下单', 'Ordered'], paid: ['已付款', 'Paid'], shipped: ['已发货', 'Shipped'],
  received: ['确认收货', 'Received'], auto_received: ['自动确认收货', 'Received (automatically)'],
  completed: ['退货期结束，订单完成', 'Return window over: completed'], cancelled: ['已取消', 'Cancelled'],
  refund_requested: ['申请退款', 'Refund requested'], refund_withdrawn: ['撤回退款申请', 'Refund request withdrawn'],
  refund_approved: ['同意退款', 'Refund approved'], refund_rejected: ['拒绝退款', 'Refund refused'],
  refunded: ['已全额退款', 'Refunded in full'],
};
const eventText = (k) => (EVENTS[k] ? L(EVENTS[k][0], EVENTS[k][1]) : k);

export const statusBadge = (s) => badge(stateText(s), s);
const titles = (o) => o.items.map((i) => `${i.title} ×${i.qty}`).join('、');

export function orderRow(o, href) {
  return h('li', {}, link(href || `/orders/${o.id}`,
    h('div', { class: 'row-main' }, h('b', {}, titles(o)), h('small', {}, `#${o.id} · ${time(o.created_at)}`)),
    h('div', { class: 'row-side' }, h('span', { class: 'price' }, money(o.total_fen)), statusBadge(o.status))));
}

export async function list() {
  const items = await all('/me/orders?limit=50', 200);
  return [
    h('h1', {}, L('我的订单', 'My orders')),
    items.length ? h('ul', { class: 'rows orders' }, items.map((o) => orderRow(o)))
      : empty(L('还没有订单。看看店里的商品，或朋友的推荐。', 'No orders yet. Look at the shop, or at what friends recommend.'), link('/', L('去店铺', 'Go to the shop'))),
  ];
}

// Inside WeChat, its own payment sheet (JSAPI); in a phone's browser, WeChat Pay's H5 page.
// The order is paid when WeChat Pay tells the server, not when this page says so.
async function payWithWechat(o) {
  const inWechat = /MicroMessenger/i.test(navigator.userAgent) && window.WeixinJSBridge;
  const p = await post(`/orders/${o.id}/wechatpay`, { trade_type: inWechat ? 'JSAPI' : 'H5' });
  if (p.h5_url) {
    location.href = p.h5_url;
    return;
  }
  window.WeixinJSBridge.invoke('getBrandWCPayRequest', p.jsapi, (res) => {
    if (res.err_msg === 'get_brand_wcpay_request:ok') {
      toast(L('已付款，稍候确认', 'Paid; confirming'));
      setTimeout(() => go(`/orders/${o.id}`, true), 1500);
    }
  });
}

function buyerActions(o, refunds, feedback, options) {
  const out = [];
  const reload = () => go(`/orders/${o.id}`, true);
  if (o.status === 'created' && options.wechatpay) {
    out.push(action(L(`微信支付 ${money(o.total_fen)}`, `Pay ${money(o.total_fen)} with WeChat Pay`), () => payWithWechat(o), 'primary wide'));
  }
  if (o.status === 'created') {
    out.push(card(h('h2', {}, options.wechatpay ? L('也可以转账', 'Or transfer') : L('怎么付款', 'How to pay')),
      h('p', {}, L(`请按店家给的方式转账 ${money(o.total_fen)}，备注订单号 #${o.id}。店家收到后会确认，订单就变成“已付款”。`,
        `Transfer ${money(o.total_fen)} as the shop told you, with order #${o.id} in the note. The shop confirms it when it arrives.`)),
      h('p', { class: 'muted' }, L(`请在 ${time(o.pay_deadline_at)} 前付款，过时订单会自动取消。`, `Pay before ${time(o.pay_deadline_at)}, or the order is cancelled.`)),
      action(L('取消订单', 'Cancel the order'), async () => {
        await post(`/orders/${o.id}/cancel`, {});
        toast(L('订单已取消', 'Order cancelled'));
        reload();
      })));
  }
  if (o.status === 'shipped') {
    out.push(action(L('确认收货', 'I received it'), async () => {
      await post(`/orders/${o.id}/receive`);
      toast(L('已确认收货', 'Marked as received'));
      reload();
    }, 'primary wide'));
  }
  const open = refunds.find((r) => r.status === 'requested');
  if (open) {
    out.push(card(h('h2', {}, L('退款申请', 'Refund request')),
      h('p', {}, L(`${money(open.amount_fen)}：${open.reason}`, `${money(open.amount_fen)}: ${open.reason}`), ' ', statusBadge(open.status)),
      action(L('撤回申请', 'Withdraw the request'), async () => {
        await post(`/refunds/${open.id}/withdraw`);
        toast(L('已撤回', 'Withdrawn'));
        reload();
      })));
  } else if (['paid', 'shipped', 'delivered'].includes(o.status) && o.refunded_fen < o.total_fen) {
    const left = o.total_fen - o.refunded_fen;
    out.push(card(h('h2', {}, L('申请退款', 'Ask for a refund')),
      form({ class: 'refund' }, [
        field(L('退款金额（元）', 'Amount (yuan)'), { name: 'amount', inputmode: 'decimal', value: (left / 100).toFixed(2) },
          L(`最多 ${money(left)}`, `At most ${money(left)}`)),
        field(L('原因', 'Reason'), { tag: 'textarea', name: 'reason', rows: 2, required: true }),
        h('button', { type: 'submit' }, L('提交申请', 'Send the request')),
      ], async (v) => {
        const fen = toFen(v.amount);
        if (!(fen > 0 && fen <= left)) throw Object.assign(new Error(), { code: 'out_of_range', field: 'amount_fen' });
        await post(`/orders/${o.id}/refunds`, { amount_fen: fen, reason: v.reason.trim() });
        toast(L('已提交，等店家处理', 'Sent; the shop will decide'));
        reload();
      })));
  }
  if (['delivered', 'completed'].includes(o.status)) {
    const mine = feedback.find((f) => f.order_id === o.id);
    out.push(card(h('h2', {}, L('我的体验', 'My experience')),
      mine ? [h('p', {}, '★'.repeat(mine.rating) + '☆'.repeat(5 - mine.rating)), h('p', {}, mine.text)]
        : form({ class: 'feedback-form' }, [
          field(L('评分', 'Rating'), { tag: 'select', name: 'rating', value: '5', options: [5, 4, 3, 2, 1].map((n) => [n, '★'.repeat(n)]) }),
          field(L('说说用下来怎么样', 'How was it?'), { tag: 'textarea', name: 'text', rows: 3, required: true }),
          h('button', { type: 'submit', class: 'primary' }, L('发表体验', 'Post')),
        ], async (v) => {
          await post(`/orders/${o.id}/feedback`, { rating: Number(v.rating), text: v.text.trim() });
          toast(L('谢谢你的体验', 'Thank you'));
          reload();
        })));
  }
  return out;
}

// What who runs the shop does with an order: confirm a transfer, ship it.
export function shopActions(o, after) {
  const out = [];
  if (o.status === 'created') {
    out.push(form({ class: 'inline' }, [
      field(L('付款凭证（选填）', 'Payment reference (optional)'), { name: 'reference' }),
      h('button', { type: 'submit', class: 'primary' }, L('确认已收款', 'Confirm payment')),
    ], async (v) => {
      await post(`/orders/${o.id}/confirm-payment`, v.reference.trim() ? { reference: v.reference.trim() } : {});
      toast(L(`订单 #${o.id} 已确认收款`, `Order #${o.id} paid`));
      after();
    }));
  }
  if (o.status === 'paid') {
    out.push(form({ class: 'inline' }, [
      field(L('快递公司', 'Carrier'), { name: 'carrier', required: true }),
      field(L('运单号', 'Tracking number'), { name: 'tracking', required: true }),
      h('button', { type: 'submit', class: 'primary' }, L('发货', 'Ship')),
    ], async (v) => {
      await post(`/orders/${o.id}/ship`, { carrier: v.carrier.trim(), tracking: v.tracking.trim() });
      toast(L(`订单 #${o.id} 已发货`, `Order #${o.id} shipped`));
      after();
    }));
  }
  return out;
}

export async function detail({ params }) {
  const o = await get(`/orders/${params.id}`);
  const runs = state.user.shops.some((s) => s.id === o.shop_id);
  const mine = o.buyer_id === state.user.id;
  const feedback = mine && ['delivered', 'completed'].includes(o.status)
    ? (await get(`/products/${o.items[0].product_id}/feedback?limit=100`)).items : [];
  const options = mine && o.status === 'created' ? await get(`/orders/${o.id}/payment-options`) : {};
  const a = o.address;
  return [
    h('h1', {}, L(`订单 #${o.id}`, `Order #${o.id}`)),
    h('p', {}, statusBadge(o.status), ' ', h('span', { class: 'price big' }, money(o.total_fen)),
      o.refunded_fen ? h('small', {}, L(` 已退 ${money(o.refunded_fen)}`, ` refunded ${money(o.refunded_fen)}`)) : null),
    card(h('ul', { class: 'rows' }, o.items.map((i) => h('li', {}, link(`/product/${i.product_id}`, i.title),
      h('span', {}, `${money(i.price_fen)} × ${i.qty} = ${money(i.line_fen)}`))))),
    h('p', { class: 'muted' }, `${a.name} ${a.phone} · ${a.region} ${a.line}`),
    o.tracking ? h('p', {}, L(`快递：${o.carrier} ${o.tracking}`, `Carrier: ${o.carrier} ${o.tracking}`)) : null,
    o.share ? h('p', { class: 'muted' }, L(`来自第 ${o.share.hop} 跳推荐`, `Through a recommendation (hop ${o.share.hop})`)) : null,
    mine ? buyerActions(o, o.refunds || [], feedback, options) : null,
    runs ? shopActions(o, () => go(`/orders/${o.id}`, true)) : null,
    card(h('h2', {}, L('进度', 'Timeline')),
      h('ol', { class: 'timeline' }, o.timeline.map((e) => h('li', {},
        h('b', {}, eventText(e.kind)), h('small', {}, ` ${time(e.at)}`), e.note && !/^\d+ fen$/.test(e.note) ? h('p', {}, e.note) : null)))),
  ];
}
