// Steps several journeys share: signing up and logging in through the pages, and
// the set-up a journey builds on made through the public API (journey 1 takes those
// same steps through the pages).
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { apiClient } from './harness.mjs';

export const PASSWORD = 'walnut-test-2026';

export async function signUp(p, login, name) {
  const { page } = p;
  await page.goto('/register');
  await page.getByLabel('手机号或邮箱').fill(login);
  await page.getByLabel('昵称').fill(name);
  await page.getByLabel('密码').fill(PASSWORD);
  await page.getByRole('button', { name: '注册' }).click();
  await page.waitForURL((u) => !u.pathname.startsWith('/register'));
}

export async function logIn(p, login, next = '/') {
  const { page } = p;
  await page.goto(`/login?next=${encodeURIComponent(next)}`);
  await page.getByLabel('手机号或邮箱').fill(login);
  await page.getByLabel('密码').fill(PASSWORD);
  await page.getByRole('button', { name: '登录' }).click();
  await page.waitForURL((u) => u.pathname === next.split('?')[0]);
}

// A member through the API: registered, logged in, their client returned.
export async function member(base, login, name) {
  const c = apiClient(base);
  const r = await c.call('POST', '/auth/register', { login, password: PASSWORD, display_name: name });
  assert.equal(r.status, 201, JSON.stringify(r.body));
  await c.login(login, PASSWORD);
  c.id = r.body.id ?? r.body.user?.id;
  return c;
}

export async function created(c, path, body, headers) {
  const r = await c.call('POST', path, body, headers);
  assert.ok(r.status === 201 || r.status === 200, `${path}: ${r.status} ${JSON.stringify(r.body)}`);
  return r.body;
}

// A shop with one walnut product on sale and a parents' circle, made by its owner.
export async function seedShop(base) {
  const owner = await member(base, 'owner@quanzi.test', '周师傅');
  const shop = await created(owner, '/shops', { name: '山里核桃', slug: 'shanli', story: '太行山脚下的老树核桃。' });
  const product = await created(owner, `/shops/${shop.id}/products`, {
    title: '薄皮核桃 2.5kg', price_fen: 12800, stock: 50, status: 'on_sale',
    tags: { '坚果': 0.9, '零食': 0.5 }, description: '壳薄，手一捏就开。',
  });
  const circle = await created(owner, `/shops/${shop.id}/circles`, { name: '阳光小区宝妈群', kind: 'parents', tags: { '坚果': 0.8, '零食': 0.6 } });
  return { owner, shop, product, circle };
}

// An order of `who` paid, shipped and received, through the API (the seller's side as owner).
export async function receivedOrder(_base, seed, who, extra = {}) {
  const o = await created(who, '/orders', {
    shop_id: seed.shop.id, items: [{ product_id: seed.product.id, qty: 1 }],
    address: { name: '王芳', phone: '13900000000', region: '河北省邢台市', line: '阳光小区 6-302' }, ...extra,
  }, { 'Idempotency-Key': randomUUID() });
  await created(seed.owner, `/orders/${o.id}/confirm-payment`, {});
  await created(seed.owner, `/orders/${o.id}/ship`, { carrier: '顺丰', tracking: 'SF1' });
  await created(who, `/orders/${o.id}/receive`);
  return o;
}

// An active promoter of the seed's shop who received the product: `who` buys it
// (through the API), the shop approves their application.
export async function activePromoter(seed, who) {
  await receivedOrder(null, seed, who);
  const p = await created(who, `/shops/${seed.shop.id}/promoters`, {});
  if (p.status !== 'active') await created(seed.owner, `/promoters/${p.id}/approve`);
  return p;
}

// The seed's shop with one sale through a promoter's link: 乐乐妈, an active promoter,
// and 果果妈, who bought through her link and received it (commission pending).
export async function saleThroughLink(base) {
  const seed = await seedShop(base);
  const lele = await member(base, '13910000001', '乐乐妈');
  const guoguo = await member(base, '13910000006', '果果妈');
  await activePromoter(seed, lele);
  const me = await lele.call('GET', `/me/promoter?shop_id=${seed.shop.id}`);
  const order = await receivedOrder(null, seed, guoguo, { share_token: me.body.ref_token });
  return { seed, lele, guoguo, order };
}
