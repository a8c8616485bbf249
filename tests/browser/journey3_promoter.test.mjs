// Journey 3: a buyer who received the product reads the promoter terms, applies, is
// approved, recommends it to the circle and sees the audience report; another member
// finds it in the feed, opens it and buys; after the return window the promoter sees
// the commission available and asks to withdraw it; the seller pays it.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, phone, expectToast } from './harness.mjs';
import { logIn, seedShop, member, created, receivedOrder } from './flows.mjs';

let srv, browser;
before(async () => { srv = await startServer(); browser = await launch(); });
after(async () => { await browser?.close(); await srv?.stop(); });

test('a recommendation travels one hop, sells, and its commission is paid out', async () => {
  const seed = await seedShop(srv.base);
  const lele = await member(srv.base, '13910000001', '乐乐妈');
  const guoguo = await member(srv.base, '13910000006', '果果妈');
  for (const m of [lele, guoguo]) await created(m, '/circles/join', { invite_code: seed.circle.invite_code });
  await guoguo.call('PUT', '/me/interests', { tags: { '坚果': 0.8, '母婴': 0.6 } });
  await receivedOrder(srv.base, seed, lele);

  const p = await phone(browser, srv.base, 'journey3-promoter');
  const seller = await phone(browser, srv.base, 'journey3-seller');
  const buyer = await phone(browser, srv.base, 'journey3-buyer');
  const page = p.page;

  // the terms come first: rates, windows, no entry fee, nothing for recruiting
  p.allow('GET', /^\/api\/v1\/me\/promoter$/, 404); // not a promoter yet: the page asks
  await logIn(p, '13910000001', '/promoter');
  const terms = page.locator('.terms');
  await terms.getByText('你得到成交额的 10%').waitFor();
  await terms.getByText('加入不收任何费用').waitFor();
  await terms.getByText('拉人不给钱').waitFor();
  await terms.getByText('退货期（7 天）').waitFor();
  await p.shot('terms');
  await page.getByLabel('我已读过上面的规则').check();
  await page.getByRole('button', { name: '申请' }).click();
  await page.getByText('申请已提交，等店家审核。').waitFor();

  // the seller approves
  await logIn(seller, 'owner@quanzi.test', '/seller/promoters');
  await seller.page.getByRole('button', { name: '批准' }).click();
  await expectToast(seller.page, '已批准 乐乐妈');

  // the promoter recommends it to the circle and sees who it reached (counts only)
  await page.goto(`/product/${seed.product.id}`);
  const box = page.locator('.card', { hasText: '推荐给圈子' });
  await box.locator('.preview', { hasText: '会收到' }).waitFor();
  await box.getByLabel('推荐到').selectOption({ label: '阳光小区宝妈群' });
  await box.getByLabel('说说你的体验').fill('壳很薄，孩子自己能剥');
  await p.shot('share');
  await box.getByRole('button', { name: '推荐' }).click();
  await page.waitForURL(/\/shares\/\d+$/);
  const shareId = Number(page.url().split('/').pop());
  await page.getByText('1 人中送达 1 人').waitFor();
  await page.locator('svg.funnel').waitFor();
  await page.locator('img.poster').evaluate((img) => img.decode());
  await p.shot('audience');
  await p.ok();

  // the other member finds it in the feed, opens it, buys through it
  buyer.allow('POST', /^\/api\/v1\/shares\/preview$/, 403); // she has not received it: told why
  await logIn(buyer, '13910000006', '/feed');
  const item = buyer.page.locator('.feed-item', { hasText: '乐乐妈' });
  await item.getByText('亲自买过并收到').waitFor();
  await item.getByText('因为你关注：坚果').waitFor();
  await buyer.shot('feed');
  await item.getByRole('button', { name: '看看' }).click();
  await buyer.page.waitForURL(/\/s\//);
  await buyer.page.getByText('乐乐妈 推荐了它').waitFor();
  await buyer.page.getByText('你看到它，是因为你关注：坚果').waitFor();
  await buyer.shot('landing');
  await buyer.page.getByRole('button', { name: '去购买' }).click();
  await buyer.page.waitForURL(/\/product\/\d+\?via=/);
  for (const [label, v] of [['收货人', '张敏'], ['电话', '13910000006'], ['地区', '河北省邢台市'], ['详细地址', '阳光小区 3-101']])
    await buyer.page.getByLabel(label).fill(v);
  await buyer.page.getByRole('button', { name: '提交订单' }).click();
  await buyer.page.waitForURL(/\/orders\/\d+$/);
  const orderId = Number(buyer.page.url().split('/').pop());
  await buyer.page.getByText('来自第 1 跳推荐').waitFor();
  await buyer.ok();

  // paid, shipped, received; the return window passes (the test clock)
  await created(seed.owner, `/orders/${orderId}/confirm-payment`, {});
  await created(seed.owner, `/orders/${orderId}/ship`, { carrier: '顺丰', tracking: 'SF2' });
  await created(guoguo, `/orders/${orderId}/receive`);
  await page.goto('/promoter');
  await page.locator('.balance.pending_fen', { hasText: '¥12.80' }).waitFor();
  await seed.owner.advanceDays(8);

  // the commission is available; she asks for it
  await page.goto('/promoter');
  await page.locator('.balance.available_fen', { hasText: '¥12.80' }).waitFor();
  await page.getByLabel('金额（元）').fill('12.80');
  await page.getByRole('button', { name: '申请提现' }).click();
  await expectToast(page, '已申请，等店家打款');
  await page.locator('.balance.withdrawing_fen', { hasText: '¥12.80' }).waitFor();

  // the seller approves and pays it
  await seller.page.goto('/seller/withdrawals');
  await seller.page.getByRole('button', { name: '同意' }).click();
  await seller.page.getByLabel('转账凭证').fill('微信转账 4200001');
  await seller.page.getByRole('button', { name: '已打款' }).click();
  await expectToast(seller.page, '已记录打款');
  await seller.ok();

  await page.goto('/promoter');
  await page.locator('.balance.withdrawn_fen', { hasText: '¥12.80' }).waitFor();
  await page.locator('.balance.available_fen', { hasText: '¥0.00' }).waitFor();
  await page.locator('.withdrawals').getByText('已到账').waitFor();
  await p.shot('paid');
  await p.ok();

  // what was written: the order came through the share at hop 1, the payout is recorded
  const o = await seed.owner.call('GET', `/orders/${orderId}`);
  assert.deepEqual(o.body.share, { id: shareId, hop: 1 });
  const me = await lele.call('GET', `/me/promoter?shop_id=${seed.shop.id}`);
  assert.equal(o.body.attribution.promoter_id, me.body.id);
  const w = await lele.call('GET', `/me/withdrawals?shop_id=${seed.shop.id}`);
  assert.equal(w.body.items.length, 1);
  assert.equal(w.body.items[0].status, 'paid');
  assert.equal(w.body.items[0].amount_fen, 1280);
  // the buyer mutes the promoter: gone from her feed, listed under her mutes, then unmuted
  await buyer.page.goto('/feed');
  await buyer.page.getByRole('button', { name: '屏蔽 乐乐妈' }).click();
  await buyer.page.getByText('还没有推荐').waitFor();
  await buyer.page.goto('/me');
  const mutes = buyer.page.locator('.card', { hasText: '屏蔽' });
  await mutes.getByText('乐乐妈').waitFor();
  await mutes.getByRole('button', { name: '取消屏蔽' }).click();
  await mutes.getByText('没有屏蔽任何人').waitFor();
  await buyer.ok();
  for (const x of [p, seller, buyer]) await x.close();
});
