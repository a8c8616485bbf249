// Journey 5: a refund after receipt: the buyer asks, the seller approves it from the
// after-sales queue, and the promoter's balance shows the commission taken back.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, phone, expectToast } from './harness.mjs';
import { logIn, saleThroughLink } from './flows.mjs';

let srv, browser;
before(async () => { srv = await startServer(); browser = await launch(); });
after(async () => { await browser?.close(); await srv?.stop(); });

test('a refund after receipt takes the commission back', async () => {
  const { seed, lele, guoguo, order } = await saleThroughLink(srv.base);

  const p = await phone(browser, srv.base, 'journey5-promoter');
  await logIn(p, '13910000001', '/promoter');
  await p.page.locator('.balance.pending_fen', { hasText: '¥12.80' }).waitFor();

  // the buyer asks for her money back
  const b = await phone(browser, srv.base, 'journey5-buyer');
  await logIn(b, '13910000006', `/orders/${order.id}`);
  await b.page.getByText('已收货').first().waitFor();
  await b.page.getByLabel('退款金额（元）').fill('128.00');
  await b.page.getByLabel('原因').fill('有一袋路上压碎了');
  await b.page.getByRole('button', { name: '提交申请' }).click();
  await expectToast(b.page, '已提交，等店家处理');
  await b.page.getByRole('button', { name: '撤回申请' }).waitFor();
  await b.shot('refund-requested');
  await b.ok();

  // the seller approves it from the after-sales queue
  const s = await phone(browser, srv.base, 'journey5-seller');
  await logIn(s, 'owner@quanzi.test', '/seller/aftersales');
  const row = s.page.locator('.card', { hasText: '有一袋路上压碎了' });
  await row.getByText('¥128.00').waitFor();
  await s.shot('aftersales');
  await row.getByRole('button', { name: '同意退款' }).click();
  await expectToast(s.page, '已同意退款');
  await s.page.locator('.badge.approved', { hasText: '已同意' }).waitFor();
  await s.ok();

  // the promoter's balance: the commission is taken back
  await p.page.goto('/promoter');
  await p.page.locator('.balance.pending_fen', { hasText: '¥0.00' }).waitFor();
  await p.page.locator('.badge.c-reversed', { hasText: '已扣回' }).waitFor();
  await p.shot('clawback');
  await p.ok();

  const o = await guoguo.call('GET', `/orders/${order.id}`);
  assert.equal(o.body.refunded_fen, 12800);
  const c = await lele.call('GET', `/me/commissions?shop_id=${seed.shop.id}`);
  assert.equal(c.body.items.length, 1);
  assert.equal(c.body.items[0].status, 'reversed');
  assert.equal(c.body.items[0].amount_fen, 0);
  for (const x of [p, b, s]) await x.close();
});
