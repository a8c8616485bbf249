// Every screen of the demo shop (make run), as each of its people sees it, draws
// without a console error, a failed request or an unexpected error answer.
import { test, after, before } from 'node:test';
import { startServer, launch, phone } from './harness.mjs';

const DEMO_PASSWORD = 'walnut-demo-2026';
let srv, browser;
before(async () => { srv = await startServer([], { demo: true }); browser = await launch(); });
after(async () => { await browser?.close(); await srv?.stop(); });

async function tour(name, login, screens, allow = []) {
  const p = await phone(browser, srv.base, `demo-${name}`);
  for (const a of allow) p.allow(...a);
  const { page } = p;
  if (login) {
    await page.goto('/login');
    await page.getByLabel('手机号或邮箱').fill(login);
    await page.getByLabel('密码').fill(DEMO_PASSWORD);
    await page.getByRole('button', { name: '登录' }).click();
    await page.waitForURL((u) => u.pathname === '/');
  }
  for (const [path, text] of screens) {
    await page.goto(path);
    await page.getByText(text).first().waitFor();
    await p.ok();
    await p.shot(path.replace(/[^a-z0-9]+/gi, '-').replace(/^-|-$/g, '') || 'home');
  }
  await p.close();
}

test('a visitor sees the shop and its products', async () => {
  await tour('visitor', null, [['/', '山里核桃 · 老周家'], ['/product/1', '登录后购买'], ['/product/8', '已体验']]);
});

test('the owner sees every tab of the dashboard', async () => {
  const tabs = [['orders', '待确认收款'], ['aftersales', '有一袋路上压碎了'], ['followups', '接下来'],
    ['promoters', '跑步的小陈'], ['withdrawals', '没有提现申请'], ['products', '添加商品'], ['circles', '周末太行徒步'],
    ['stats', '第 1 跳'], ['reports', '没有待处理的举报'], ['ledger', '账户余额'], ['audit', '全部合规'], ['settings', '佣金和规则']];
  await tour('owner', 'demo@quanzi.test', [...tabs.map(([t, x]) => [`/seller/${t}`, x]), ['/orders/2', '申请退款'], ['/shares/1', '名单（店家可见）']]);
});

test('a promoter sees her centre and her recommendation', async () => {
  await tour('promoter', '13910000001', [['/promoter', '我的邀请码和链接'], ['/shares/1', '4 人中送达 1 人'], ['/me', '我的圈子'], ['/feed', '朋友的推荐']]);
});

test('a member sees her feed, the landing and her orders', async () => {
  await tour('member', '13910000006', [['/feed', '因为你关注'], ['/orders', '还没有订单'], ['/me', '阳光小区宝妈群']],
    [['POST', /^\/api\/v1\/shares\/preview$/, 403]]);
});

test('a member reports a recommendation; the shop upholds the report', async () => {
  const m = await phone(browser, srv.base, 'demo-report');
  await m.page.goto('/login?next=%2Ffeed');
  await m.page.getByLabel('手机号或邮箱').fill('13910000006');
  await m.page.getByLabel('密码').fill(DEMO_PASSWORD);
  await m.page.getByRole('button', { name: '登录' }).click();
  const item = m.page.locator('.feed-item', { hasText: '乐乐妈' });
  await item.getByRole('button', { name: '举报' }).click();
  await item.getByLabel('举报原因').fill('一天发了好几遍');
  await item.getByRole('button', { name: '提交举报' }).click();
  await m.page.locator('#toast.show', { hasText: '已举报，店家会处理' }).waitFor();
  await m.page.getByText('还没有推荐').waitFor(); // what she reported is gone from her feed
  await m.ok();
  await m.close();

  const o = await phone(browser, srv.base, 'demo-report-owner');
  await o.page.goto('/login?next=%2Fseller%2Freports');
  await o.page.getByLabel('手机号或邮箱').fill('demo@quanzi.test');
  await o.page.getByLabel('密码').fill(DEMO_PASSWORD);
  await o.page.getByRole('button', { name: '登录' }).click();
  const report = o.page.locator('.card', { hasText: '一天发了好几遍' });
  await report.getByText('果果妈 举报了 乐乐妈 的推荐 #1').waitFor();
  await report.getByRole('button', { name: '成立' }).click();
  await o.page.getByText('没有待处理的举报').waitFor();
  await o.ok();
  await o.close();
});
