// Journey 2: a buyer signs up, joins the circle and buys; the seller confirms the
// payment and ships; the buyer confirms receipt and leaves feedback.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, phone, expectToast } from './harness.mjs';
import { signUp, logIn, seedShop } from './flows.mjs';

let srv, browser;
before(async () => { srv = await startServer(); browser = await launch(); });
after(async () => { await browser?.close(); await srv?.stop(); });

test('a buyer buys, the seller ships, the buyer receives and says how it was', async () => {
  const seed = await seedShop(srv.base);
  const buyer = await phone(browser, srv.base, 'journey2-buyer');
  const seller = await phone(browser, srv.base, 'journey2-seller');
  const page = buyer.page;

  await signUp(buyer, '13910000001', '乐乐妈');
  await page.goto('/');
  await page.getByLabel('圈子邀请码').fill(seed.circle.invite_code);
  await page.getByRole('button', { name: '加入圈子' }).click();
  await expectToast(page, '已加入「阳光小区宝妈群」');
  await buyer.shot('joined');

  // the product page: price, stock, nothing experienced yet, and why she may not recommend it
  buyer.allow('POST', /^\/api\/v1\/shares\/preview$/, 403);
  await page.getByText('薄皮核桃 2.5kg').click();
  await page.getByText('¥128.00').first().waitFor();
  await page.getByText('还没有收到货的人留下体验').waitFor();
  await page.getByText('只有亲自买过并收到（或试用过）的人才能推荐').waitFor();
  // more than the cap is refused in words before anything is sent
  await page.getByLabel('数量').fill('11');
  await page.getByRole('button', { name: '提交订单' }).click();
  await page.getByText('数值超出允许的范围（数量）').waitFor();
  await page.getByLabel('数量').fill('2');
  await page.getByLabel('收货人').fill('王芳');
  await page.getByLabel('电话').fill('13910000001');
  await page.getByLabel('地区').fill('河北省邢台市');
  await page.getByLabel('详细地址').fill('阳光小区 6-302');
  await buyer.shot('product');
  await page.getByRole('button', { name: '提交订单' }).click();
  await page.waitForURL(/\/orders\/\d+$/);
  const orderId = Number(page.url().split('/').pop());
  await page.getByText('待付款').first().waitFor();
  await page.getByText('¥256.00').first().waitFor();
  await page.getByText('怎么付款').waitFor();
  await buyer.shot('order-created');

  // the seller confirms the transfer and ships
  await logIn(seller, 'owner@quanzi.test', '/seller');
  const todo = seller.page.locator('.order-todo').filter({ hasText: `#${orderId}` });
  await todo.getByRole('button', { name: '确认已收款' }).click();
  await expectToast(seller.page, `订单 #${orderId} 已确认收款`);
  const ship = seller.page.locator('.order-todo').filter({ hasText: `#${orderId}` });
  await ship.getByLabel('快递公司').fill('顺丰');
  await ship.getByLabel('运单号').fill('SF1402837465');
  await ship.getByRole('button', { name: '发货' }).click();
  await expectToast(seller.page, `订单 #${orderId} 已发货`);
  await seller.shot('dashboard');
  await seller.ok();

  // the buyer sees it shipped, confirms receipt, leaves feedback
  await page.goto('/orders');
  await page.getByText('已发货').waitFor();
  await page.getByText('薄皮核桃 2.5kg ×2').click();
  await page.getByText('顺丰 SF1402837465').first().waitFor();
  await page.getByRole('button', { name: '确认收货' }).click();
  await expectToast(page, '已确认收货');
  await page.getByLabel('评分').selectOption('5');
  await page.getByLabel('说说用下来怎么样').fill('壳真的很薄，孩子自己就能剥。');
  await page.getByRole('button', { name: '发表体验' }).click();
  await expectToast(page, '谢谢你的体验');
  await page.getByText('壳真的很薄，孩子自己就能剥。').waitFor();
  const timeline = page.locator('ol.timeline');
  for (const step of ['下单', '已付款', '已发货', '确认收货']) await timeline.getByText(step, { exact: true }).waitFor();
  await buyer.shot('order-received');

  // the product page shows it under 已体验, and the address is remembered
  await page.goto(`/product/${seed.product.id}`);
  await page.getByText('已体验 · 1').waitFor();
  await page.getByText('壳真的很薄，孩子自己就能剥。').waitFor();
  assert.equal(await page.getByLabel('详细地址').inputValue(), '阳光小区 6-302');
  await buyer.ok();

  // what was written
  const o = await seed.owner.call('GET', `/orders/${orderId}`);
  assert.equal(o.body.status, 'delivered');
  assert.equal(o.body.total_fen, 25600);
  assert.equal(o.body.tracking, 'SF1402837465');
  const fb = await seed.owner.call('GET', `/products/${seed.product.id}/feedback`);
  assert.equal(fb.body.items.length, 1);
  assert.equal(fb.body.items[0].rating, 5);
  assert.equal(fb.body.items[0].order_id, orderId);
  await buyer.close();
  await seller.close();
});
