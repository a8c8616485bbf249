// Journey 1: a seller signs up, opens a shop, adds a product with tags and an image,
// puts it on sale, creates a circle and copies its invite code.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, phone, png, expectToast, apiClient } from './harness.mjs';
import { signUp, PASSWORD } from './flows.mjs';

let srv, browser;
before(async () => { srv = await startServer(); browser = await launch(); });
after(async () => { await browser?.close(); await srv?.stop(); });

test('a seller opens a shop and gets it ready to sell', async () => {
  const p = await phone(browser, srv.base, 'journey1');
  const { page } = p;
  await p.context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: srv.base });

  // an empty server says what to do
  await page.goto('/');
  await page.getByText('这里还没有店铺').waitFor();
  await signUp(p, 'seller@quanzi.test', '周师傅');

  await page.goto('/me');
  await page.getByRole('link', { name: '开一家店' }).click();
  await page.getByLabel('店铺名称').fill('山里核桃 · 老周家');
  await page.getByLabel('店铺地址').fill('Bad Slug!');
  p.allow('POST', /^\/api\/v1\/shops$/, 400);
  await page.getByRole('button', { name: '开店' }).click();
  // a refusal in words, naming the field, and the field marked
  const refusal = page.locator('form .error:not(:empty)');
  await refusal.waitFor();
  assert.match(await refusal.textContent(), /店铺地址/);
  await page.locator('input[name=slug].invalid').waitFor();
  await page.getByLabel('店铺地址').fill('shanli-walnut');
  await page.getByLabel('店铺故事').fill('我家在太行山脚下种了三十年核桃。');
  await page.getByRole('button', { name: '开店' }).click();
  await page.waitForURL('**/seller');
  await page.getByRole('heading', { name: /山里核桃 · 老周家 · 订单/ }).waitFor();
  await p.shot('dashboard');

  // a product with tags and an image, put on sale
  await page.getByRole('link', { name: '商品', exact: true }).click();
  await page.getByLabel('商品名称').first().fill('薄皮核桃 2.5kg 家庭装');
  await page.getByLabel('价格（元）').first().fill('128');
  await page.getByLabel('库存').first().fill('100');
  await page.getByLabel('标签').first().fill('坚果:0.9, 农产品:0.6');
  await page.getByLabel('描述').first().fill('壳薄，手一捏就开。');
  await page.getByRole('button', { name: '添加商品' }).click();
  await expectToast(page, '已添加');
  const item = page.locator('.product-admin').filter({ hasText: '薄皮核桃 2.5kg 家庭装' });
  await item.waitFor();
  await item.locator('.badge', { hasText: '草稿' }).waitFor();
  await item.locator('input[type=file]').setInputFiles({ name: 'walnut.png', mimeType: 'image/png', buffer: png(120, 90, [160, 110, 60]) });
  await item.locator('img.thumb').waitFor();
  await item.getByRole('button', { name: '上架' }).click();
  await item.locator('.badge', { hasText: '在售' }).waitFor();
  await p.shot('products');

  // a circle, and its invite code copied
  await page.getByRole('link', { name: '圈子', exact: true }).click();
  await page.getByLabel('圈子名称').fill('阳光小区宝妈群');
  await page.getByLabel('类型').selectOption('parents');
  await page.getByLabel('兴趣标签').fill('母婴:0.9, 坚果:0.6');
  await page.getByRole('button', { name: '创建' }).click();
  const circle = page.locator('.card.circle').filter({ hasText: '阳光小区宝妈群' });
  await circle.waitFor();
  const code = (await circle.locator('.invite-code').textContent()).trim();
  assert.match(code, /^[A-Z0-9]{6,12}$/);
  await circle.getByRole('button', { name: '复制' }).click();
  await expectToast(page, '邀请码已复制');
  assert.equal(await page.evaluate(() => navigator.clipboard.readText()), code);
  await p.shot('circles');

  // the buyer's view of the shop shows the product with its tags, price and picture
  await page.goto('/');
  await page.getByRole('heading', { name: '山里核桃 · 老周家' }).waitFor();
  const card = page.locator('ul.products li').filter({ hasText: '薄皮核桃 2.5kg 家庭装' });
  await card.getByText('¥128.00').waitFor();
  await card.getByText('坚果').waitFor();
  await card.locator('img').waitFor();
  await p.shot('shop-home');
  await p.ok();

  // what was written: one shop, one product on sale with its image, one circle with that code
  const api = apiClient(srv.base);
  await api.login('seller@quanzi.test', PASSWORD);
  const s = (await api.call('GET', '/session')).body;
  assert.equal(s.user.shops.length, 1);
  const products = (await api.call('GET', `/shops/${s.user.shops[0].id}/products?status=any`)).body.items;
  assert.equal(products.length, 1);
  assert.equal(products[0].status, 'on_sale');
  assert.equal(products[0].price_fen, 12800);
  assert.deepEqual(products[0].tags, { '坚果': 0.9, '农产品': 0.6 });
  assert.equal(products[0].images.length, 1);
  const circles = (await api.call('GET', `/shops/${s.user.shops[0].id}/circles`)).body.items;
  assert.equal(circles.length, 1);
  assert.equal(circles[0].invite_code, code);
  await p.close();
});
