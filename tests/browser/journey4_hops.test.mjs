// Journey 4: a member who received a recommendation and then the product passes it on
// (hop 2); a member reached at hop 2 who tries to pass it on again is told why not.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, phone } from './harness.mjs';
import { logIn, seedShop, member, created, receivedOrder, activePromoter } from './flows.mjs';

let srv, browser;
before(async () => { srv = await startServer(); browser = await launch(); });
after(async () => { await browser?.close(); await srv?.stop(); });

test('a recommendation goes two hops and no further', async () => {
  const seed = await seedShop(srv.base);
  const runners = await created(seed.owner, `/shops/${seed.shop.id}/circles`, { name: '周末太行徒步', kind: 'fitness', tags: { '户外': 0.9, '坚果': 0.5 } });
  const lele = await member(srv.base, '13910000001', '乐乐妈');
  const guoguo = await member(srv.base, '13910000006', '果果妈');
  const xiaoyu = await member(srv.base, '13910000007', '小雨');
  for (const [m, c] of [[lele, seed.circle], [guoguo, seed.circle], [guoguo, runners], [xiaoyu, runners]])
    await created(m, '/circles/join', { invite_code: c.invite_code });
  for (const m of [lele, guoguo, xiaoyu]) await m.call('PUT', '/me/interests', { tags: { '坚果': 0.9 } });
  await activePromoter(seed, lele);
  const hop1 = await created(lele, '/shares', { product_id: seed.product.id, circle_id: seed.circle.id, note: '好吃' });
  assert.equal(hop1.report.delivered, 1);
  // 果果妈 buys through it and receives it: now she has used it herself
  await receivedOrder(null, seed, guoguo, { share_token: hop1.token });

  const g = await phone(browser, srv.base, 'journey4-hop2');
  await logIn(g, '13910000006', `/s/${hop1.token}`);
  const box = g.page.locator('.card', { hasText: '再推荐给我的圈子' });
  await box.locator('.preview', { hasText: '会收到' }).waitFor();
  await box.getByLabel('推荐到').selectOption({ label: '周末太行徒步' });
  await box.getByLabel('说说你的体验').fill('徒步路上当零食正好');
  await box.getByRole('button', { name: '推荐' }).click();
  await g.page.waitForURL(/\/shares\/\d+$/);
  const hop2Id = Number(g.page.url().split('/').pop());
  await g.page.getByText('第 2 跳').first().waitFor();
  await g.page.getByText('1 人中送达 1 人').waitFor();
  await g.shot('hop2');
  await g.ok();

  const hop2 = await guoguo.call('GET', `/shares/${hop2Id}`);
  assert.equal(hop2.body.hop, 2);
  assert.equal(hop2.body.parent_share_id, hop1.id);
  // 小雨 got it at hop 2, buys and receives it, and tries to pass it on: a third hop
  const feed = await xiaoyu.call('GET', '/me/feed');
  assert.equal(feed.body.items.length, 1);
  assert.equal(feed.body.items[0].hop, 2);
  await receivedOrder(null, seed, xiaoyu, { share_token: hop2.body.token });

  const x = await phone(browser, srv.base, 'journey4-hop3');
  x.allow('POST', /^\/api\/v1\/shares\/preview$/, 422);
  await logIn(x, '13910000007', `/s/${hop2.body.token}`);
  await x.page.getByText('推荐最多转两次：这条已经是第二次转发，不能再转了').waitFor();
  assert.equal(await x.page.locator('form.share').isHidden(), true);
  await x.shot('hop3-refused');
  await x.ok();
  // and nothing was written
  const mine = await xiaoyu.call('GET', '/me/shares');
  assert.equal(mine.body.items.length, 0);
  await g.close();
  await x.close();
});
