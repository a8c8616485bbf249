// Journey 6: the language switch keeps the page and changes its words (and is
// remembered); the audit page shows the commission depth within two levels; an ended
// session goes to log in and back.
import { test, after, before } from 'node:test';
import assert from 'node:assert/strict';
import { startServer, launch, phone } from './harness.mjs';
import { logIn, saleThroughLink, PASSWORD } from './flows.mjs';

let srv, browser;
before(async () => { srv = await startServer(); browser = await launch(); });
after(async () => { await browser?.close(); await srv?.stop(); });

test('English on the same page, remembered; the audit shows depth ≤ 2', async () => {
  const { seed } = await saleThroughLink(srv.base);

  const p = await phone(browser, srv.base, 'journey6');
  const { page } = p;
  await page.goto(`/product/${seed.product.id}`);
  await page.getByRole('heading', { name: '已体验 · 0' }).waitFor();
  await page.getByText('登录后购买').waitFor();
  await page.locator('button.lang', { hasText: 'EN' }).click();
  assert.match(page.url(), new RegExp(`/product/${seed.product.id}$`));
  await page.getByRole('heading', { name: 'Experienced · 0' }).waitFor();
  await page.getByText('Log in to buy').waitFor();
  await page.getByText('¥128.00').first().waitFor();
  assert.equal(await page.evaluate(() => document.documentElement.lang), 'en');
  await p.shot('english');
  // remembered across a reload, and back
  await page.reload();
  await page.getByText('Log in to buy').waitFor();
  await page.locator('button.lang', { hasText: '中文' }).click();
  await page.getByText('登录后购买').waitFor();

  // the audit page: every rule holds, the deepest chain paid is within 2
  await logIn(p, 'owner@quanzi.test', '/seller/audit');
  await page.getByText('全部合规').waitFor();
  const depth = page.locator('li[data-finding=max_chain_depth]');
  await depth.getByText('TWO-LEVELS').waitFor();
  const value = Number(await depth.locator('b.value').getAttribute('data-value'));
  assert.ok(value >= 1 && value <= 2, `depth ${value}`);
  await depth.getByText('≤ 2').waitFor();
  await p.shot('audit');
  await page.locator('button.lang', { hasText: 'EN' }).click();
  await page.getByText('All rules hold').waitFor();
  assert.match(page.url(), /\/seller\/audit$/);
  await p.ok();

  // the session ends (here: the cookie is gone); the next screen asks to log in, then goes back
  await p.context.clearCookies();
  p.allow('GET', /^\/api\/v1\/shops\/\d+\/ledger$/, 401);
  await page.getByRole('link', { name: 'Ledger' }).click();
  await page.waitForURL(/\/login\?next=%2Fseller%2Fledger$/);
  await page.getByLabel('Phone or email').fill('owner@quanzi.test');
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Log in' }).click();
  await page.waitForURL(/\/seller\/ledger$/);
  await page.getByText('Transactions (each balances to zero)').waitFor();
  await p.ok();
  await p.close();
});
