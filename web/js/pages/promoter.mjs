// The promoter centre: the terms first, then invite code, link and poster, balances,
// withdrawals, the team one level down, bound customers, shares and the trust score.
import { get, post, ApiError } from '../api.mjs';
import { L } from '../i18n.mjs';
import { h, money, time, day, pct, toFen, field, form, card, empty, link, toast, badge, copyButton } from '../ui.mjs';
import { go, currentShop, state } from '../app.mjs';
import { funnel } from '../chart.mjs';

const WSTATUS = { requested: ['待审核', 'waiting'], approved: ['已同意，待打款', 'approved, to be paid'], paid: ['已到账', 'paid'], rejected: ['已拒绝', 'refused'] };
const TRUST = {
  sale_kept: ['一笔推荐成交没有退货', 'a sale was kept'], good_feedback: ['买家给了好评', 'a buyer rated it well'],
  refund: ['一笔推荐成交退款了', 'a sale was refunded'], muted: ['有人屏蔽了你的推荐', 'someone muted you'],
  report_upheld: ['一条举报成立', 'a report was upheld'], bad_feedback: ['买家给了差评', 'a buyer rated it badly'],
};
const CSTATUS = { pending: ['待结算', 'pending'], available: ['可提现', 'available'], reversed: ['已扣回', 'taken back'], withheld: ['暂扣', 'withheld'] };
const word = (table, k) => (table[k] ? L(table[k][0], table[k][1]) : k);

function terms(t) {
  return card(h('h2', {}, L('推广规则', 'Promoter terms')),
    h('ul', { class: 'terms' },
      h('li', {}, L(`朋友通过你的链接或推荐买下并且没有退货，你得到成交额的 ${pct(t.l1_bps)}。`, `When a friend buys through your link or recommendation and keeps it, you get ${pct(t.l1_bps)} of the sale.`)),
      h('li', {}, L(`你邀请的推广员卖出东西时，你得到 ${pct(t.l2_bps)}（前提是你自己在 ${t.l2_active_days} 天内也卖出过）。再往上没有了：只有两级。`, `When a promoter you invited sells, you get ${pct(t.l2_bps)} (if you sold something yourself within ${t.l2_active_days} days). Nothing further up: two levels only.`)),
      h('li', {}, L(`佣金在退货期（${t.settle_days} 天）结束后才能提现；退款会扣回对应的佣金。`, `Commission becomes withdrawable after the return window (${t.settle_days} days); a refund takes its share back.`)),
      h('li', {}, L(`买家在 ${t.binding_days} 天内通过你再买，也算你的。`, `A buyer who came through you stays yours for ${t.binding_days} days.`)),
      h('li', {}, h('b', {}, L('加入不收任何费用', 'No fee to join')), L('；', '; '), h('b', {}, L('拉人不给钱', 'nothing is paid for recruiting')), L('；不用囤货。', '; no stock to buy.')),
      h('li', {}, L(`提现最少 ${money(t.withdraw_min_fen)}，每天最多 ${money(t.withdraw_daily_fen)}。`, `Withdraw at least ${money(t.withdraw_min_fen)}, at most ${money(t.withdraw_daily_fen)} a day.`))));
}

export async function centre() {
  const shopId = currentShop();
  if (!shopId) return empty(L('先去一家店看看。', 'Visit a shop first.'), link('/', L('去店铺', 'Go to the shop')));
  const shop = await get(`/shops/${shopId}`);
  let me = null;
  try {
    me = await get(`/me/promoter?shop_id=${shopId}`);
  } catch (e) {
    if (!(e instanceof ApiError) || e.status !== 404) throw e;
  }
  const head = [h('h1', {}, L('推广中心', 'Promoter centre')), h('p', { class: 'muted' }, shop.name)];
  if (!me) {
    const t = await get(`/shops/${shopId}/promoter-terms`);
    return [...head, terms(t),
      card(h('h2', {}, L('申请成为推广员', 'Apply')),
        form({ class: 'apply' }, [
          field(L('邀请你的推广员的邀请码（选填）', 'Invite code of the promoter who invited you (optional)'), { name: 'invite_code', autocomplete: 'off' }),
          h('label', { class: 'check' }, h('input', { type: 'checkbox', name: 'agree', required: true }), L('我已读过上面的规则', 'I have read the terms above')),
          h('button', { type: 'submit', class: 'primary' }, L('申请', 'Apply')),
        ], async (v) => {
          if (!v.agree) throw Object.assign(new Error(L('请先读过并勾选规则', 'Please read and tick the terms')), {});
          const code = v.invite_code.trim();
          await post(`/shops/${shopId}/promoters`, code ? { invite_code: code } : {});
          toast(L('已申请', 'Applied'));
          go('/promoter', true);
        }))];
  }
  if (me.status !== 'active') {
    return [...head, card(h('p', {}, me.status === 'pending' ? L('申请已提交，等店家审核。', 'Your application waits for the shop.') : L('你的推广资格已暂停。', 'Your promoter status is suspended.')), badge(me.status)), terms(me.rates)];
  }
  const [shares, trust, withdrawals, commissions] = await Promise.all([
    get('/me/shares?limit=20'), get(`/promoters/${me.id}/trust?limit=20`),
    get(`/me/withdrawals?shop_id=${shopId}&limit=20`), get(`/me/commissions?shop_id=${shopId}&limit=20`)]);
  const b = me.balance;
  const url = `${location.origin}/s/${me.ref_token}`;
  return [...head,
    h('div', { class: 'balances' },
      [['pending_fen', L('待结算', 'Pending')], ['available_fen', L('可提现', 'Available')], ['withdrawing_fen', L('提现中', 'Withdrawing')], ['withdrawn_fen', L('已提现', 'Withdrawn')]]
        .map(([k, t]) => h('div', { class: `balance ${k}` }, h('small', {}, t), h('b', {}, money(b[k]))))),
    card(h('h2', {}, L('提现', 'Withdraw')),
      b.available_fen >= me.rates.withdraw_min_fen
        ? form({ class: 'inline' }, [
          field(L('金额（元）', 'Amount (yuan)'), { name: 'amount', inputmode: 'decimal', value: (b.available_fen / 100).toFixed(2) }),
          h('button', { type: 'submit', class: 'primary' }, L('申请提现', 'Ask to withdraw')),
        ], async (v) => {
          await post('/me/withdrawals', { shop_id: shopId, amount_fen: toFen(v.amount) });
          toast(L('已申请，等店家打款', 'Requested; the shop will pay it'));
          go('/promoter', true);
        })
        : h('p', { class: 'muted' }, L(`满 ${money(me.rates.withdraw_min_fen)} 可提现。佣金在退货期（${me.rates.settle_days} 天）后转为可提现。`, `You can withdraw from ${money(me.rates.withdraw_min_fen)}. Commission becomes available after the ${me.rates.settle_days}-day return window.`)),
      withdrawals.items.length ? h('ul', { class: 'rows withdrawals' }, withdrawals.items.map((w) => h('li', {},
        h('span', {}, money(w.amount_fen), h('small', {}, ` ${time(w.created_at)}`)), badge(word(WSTATUS, w.status), `w-${w.status}`)))) : null),
    card(h('h2', {}, L('我的邀请码和链接', 'My invite code and link')),
      h('p', {}, L('邀请码：', 'Invite code: '), h('code', { class: 'invite-code' }, me.invite_code), ' ', copyButton(me.invite_code, L('邀请码已复制', 'Invite code copied'))),
      h('p', { class: 'linkline' }, h('code', {}, url), ' ', copyButton(url, L('链接已复制', 'Link copied'))),
      h('img', { src: `/api/v1/me/promoter/poster.png?shop_id=${shopId}`, alt: L('推广海报', 'Poster'), class: 'poster', loading: 'lazy' }),
      h('p', { class: 'fineprint' }, L('只发给会感兴趣的朋友；刷屏会被屏蔽，也会降低你的信任分。', 'Send it to friends who will care; spamming gets you muted and lowers your trust score.'))),
    card(h('h2', {}, L('佣金明细', 'Commissions')),
      commissions.items.length ? h('ul', { class: 'rows' }, commissions.items.map((c) => h('li', {},
        h('span', {}, L(`订单 #${c.order_id} · ${c.level} 级`, `Order #${c.order_id} · level ${c.level}`), h('small', {}, ` ${day(c.created_at)}`)),
        h('span', {}, c.earned_fen !== c.amount_fen ? h('s', { class: 'muted' }, money(c.earned_fen)) : null, ' ', money(c.amount_fen), ' ',
          badge(word(CSTATUS, c.status), `c-${c.status}`)))))
        : empty(L('还没有佣金。推荐你用过的东西给兴趣相近的朋友。', 'No commission yet. Recommend what you used to friends who share the interest.'))),
    card(h('h2', {}, L('我的团队（仅一级）', 'My team (one level)')),
      me.team.length ? h('ul', { class: 'rows' }, me.team.map((p) => h('li', {}, p.display_name,
        h('small', {}, L(` ${p.orders} 单 · ${money(p.sales_fen)}`, ` ${p.orders} orders · ${money(p.sales_fen)}`)))))
        : h('p', { class: 'muted' }, L('把邀请码给想推广的朋友。邀请本身没有奖励。', 'Give your invite code to friends who want to promote. Inviting earns nothing by itself.'))),
    card(h('h2', {}, L('绑定的顾客', 'Customers bound to me')),
      me.customers.length ? h('ul', { class: 'rows' }, me.customers.map((c) => h('li', {}, c.display_name,
        h('small', {}, L(` 到 ${day(c.expires_at)}`, ` until ${day(c.expires_at)}`)))))
        : h('p', { class: 'muted' }, L('朋友通过你的链接来店里后，会在这里出现。', 'Friends who come through your link appear here.'))),
    card(h('h2', {}, L('我的推荐', 'My recommendations')),
      shares.items.filter((s) => s.shop_id === shopId).length
        ? h('ul', { class: 'rows' }, shares.items.filter((s) => s.shop_id === shopId).map((s) => h('li', {},
          link(`/shares/${s.id}`, L(`#${s.id} 第 ${s.hop} 跳 · 送达 ${s.report.delivered}/${s.report.candidates}`, `#${s.id} hop ${s.hop} · delivered ${s.report.delivered}/${s.report.candidates}`)),
          h('small', {}, day(s.created_at)))))
        : empty(L('还没有推荐。在你收到过的商品页点“推荐给圈子”。', 'No recommendations yet. Use “Recommend” on a product you received.'))),
    card(h('h2', {}, L('信任分', 'Trust score')),
      h('p', { class: 'trust' }, h('b', {}, trust.score.toFixed(2)),
        trust.reach_limited ? L(`（低于 ${trust.trust_min}，每次推荐最多送达 ${trust.trust_reach} 人）`, ` (below ${trust.trust_min}: each recommendation reaches at most ${trust.trust_reach})`) : ''),
      h('p', { class: 'muted' }, L(`好事 ${trust.good} 件，坏事 ${trust.bad} 件。`, `${trust.good} good, ${trust.bad} bad.`)),
      trust.items.length ? h('ul', { class: 'rows' }, trust.items.map((x) => h('li', {}, (x.good ? '＋ ' : '－ ') + word(TRUST, x.kind), h('small', {}, ` ${day(x.at)}`)))) : null),
    terms(me.rates),
  ];
}

export async function share({ params }) {
  const [s, stats] = await Promise.all([get(`/shares/${params.id}`), get(`/shares/${params.id}/stats`)]);
  const runs = state.user.shops.some((x) => x.id === s.shop_id);
  const audience = runs ? await get(`/shares/${params.id}/audience?limit=100`) : null;
  const r = s.report;
  return [
    h('h1', {}, L(`推荐 #${s.id}`, `Recommendation #${s.id}`)),
    h('p', { class: 'muted' }, L(`第 ${s.hop} 跳 · ${time(s.created_at)}`, `Hop ${s.hop} · ${time(s.created_at)}`)),
    card(h('h2', {}, L('送达情况', 'Audience')),
      h('p', { class: 'report-line' }, L(`${r.candidates} 人中送达 ${r.delivered} 人`, `Delivered to ${r.delivered} of ${r.candidates}`)),
      h('ul', { class: 'rows' }, Object.entries(r.filtered).filter(([, n]) => n).map(([k, n]) => h('li', {}, word({
        muted: ['屏蔽了你或店铺', 'muted you or the shop'], already_reached: ['已经收到过', 'already reached'],
        recently_bought: ['最近买过', 'bought it recently'], similarity: ['兴趣不相近', 'interests too far'],
        frequency: ['今天已收到足够多推荐', 'had enough today'], trust_cap: ['信任分限制', 'trust cap'],
      }, k), h('b', {}, ` ${n}`))))),
    card(h('h2', {}, L('各跳漏斗', 'Funnel per hop')), funnel(stats.hops)),
    audience ? card(h('h2', {}, L('名单（店家可见）', 'Who (shop only)')),
      h('ul', { class: 'rows' }, audience.items.map((a) => h('li', {}, a.display_name, h('small', {}, ` ${a.outcome} · ${a.similarity}`))))) : null,
    h('p', {}, h('code', { class: 'linkline' }, location.origin + s.link)),
    h('img', { src: `/api/v1/shares/${s.id}/poster.png`, alt: L('推广海报', 'Poster'), class: 'poster', loading: 'lazy' }),
  ];
}
