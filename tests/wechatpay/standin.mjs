// A stand-in for the WeChat Pay API v3 and OAuth endpoints quanzi calls, for the tests
// only: what the official documents describe, with its own keys (tests/fixtures/wechatpay).
// It checks every request's WECHATPAY2-SHA256-RSA2048 signature, signs every answer, and
// sends signed, encrypted notifications to quanzi. It can misbehave on request: answer
// slowly, answer 500, sign wrongly, send a notification many times at once or out of order.
//
//   node standin.mjs PORT_FILE        (listens on 127.0.0.1, a free port written to PORT_FILE)
//
// Test controls (no signature): POST /_standin/mode {slow_ms, fail_next, bad_signature,
// refund_notify}, POST /_standin/pay {out_trade_no, total?, copies?, notify?}, /_standin/repay
// {out_trade_no, copies?}, /_standin/refund {out_refund_no, status, copies?, notify?},
// /_standin/transfer {out_bill_no, state, fail_reason?, copies?, notify?},
// /_standin/oauth-code {code, openid}, /_standin/notify-url {url}, GET /_standin/requests.
import http from 'node:http';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));
const keys = path.join(here, '..', 'fixtures', 'wechatpay');
const merchantPub = crypto.createPublicKey(fs.readFileSync(path.join(keys, 'merchant_pub.pem')));
const platformKey = crypto.createPrivateKey(fs.readFileSync(path.join(keys, 'platform_key.pem')));
const apiv3 = fs.readFileSync(path.join(keys, 'apiv3_key.txt'));
const appSecret = fs.readFileSync(path.join(keys, 'app_secret.txt'), 'utf8').trim();
const codes = new Map(); // OAuth code -> openid (each code works once)
export const KEY_ID = 'PUB_KEY_ID_0114232134912410000000000000';

// fail_next: the next so many calls (to fail_path only, when it is set) answer 500
const mode = { slow_ms: 0, fail_next: 0, fail_path: '', bad_signature: false, refund_notify: true };
const trades = new Map(); // out_trade_no -> transaction
const refunds = new Map(); // out_refund_no -> refund
const transfers = new Map(); // out_bill_no -> merchant transfer
const requests = [];
let notifyUrl = null;
let seq = 0;

const sign = (text) => crypto.sign('sha256', Buffer.from(text), platformKey).toString('base64');
const nonce = () => crypto.randomBytes(16).toString('hex');
const now = () => Math.floor(Date.now() / 1000);

function answer(res, status, body) {
  const text = body === undefined ? '' : JSON.stringify(body);
  const ts = String(now()), n = nonce();
  let sig = sign(`${ts}\n${n}\n${text}\n`);
  if (mode.bad_signature) sig = sign(`${ts}\n${n}\n${text}x\n`);
  res.writeHead(status, {
    'Content-Type': 'application/json', 'Wechatpay-Timestamp': ts, 'Wechatpay-Nonce': n,
    'Wechatpay-Signature': sig, 'Wechatpay-Serial': KEY_ID, 'Request-ID': `standin-${++seq}`,
  });
  res.end(text);
}

// The request's Authorization: its signature over method, path and query, time, nonce, body.
function verified(req, body) {
  const m = /^WECHATPAY2-SHA256-RSA2048 (.*)$/.exec(req.headers.authorization || '');
  if (!m) return null;
  const f = Object.fromEntries([...m[1].matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
  const text = `${req.method}\n${req.url}\n${f.timestamp}\n${f.nonce_str}\n${body}\n`;
  const ok = f.signature && crypto.verify('sha256', Buffer.from(text), merchantPub, Buffer.from(f.signature, 'base64'));
  return ok && Math.abs(now() - Number(f.timestamp)) <= 300 ? f : null;
}

function encrypt(plain, aad) {
  const iv = crypto.randomBytes(6).toString('hex');
  const c = crypto.createCipheriv('aes-256-gcm', apiv3, Buffer.from(iv));
  c.setAAD(Buffer.from(aad));
  const ct = Buffer.concat([c.update(JSON.stringify(plain)), c.final(), c.getAuthTag()]);
  return { algorithm: 'AEAD_AES_256_GCM', ciphertext: ct.toString('base64'), associated_data: aad, nonce: iv, original_type: aad };
}

async function notify(event, plain, aad) {
  if (!notifyUrl) return 0;
  const body = JSON.stringify({
    id: `EV-${++seq}`, create_time: new Date().toISOString(), resource_type: 'encrypt-resource',
    event_type: event, summary: event, resource: encrypt(plain, aad),
  });
  const ts = String(now()), n = nonce();
  const r = await fetch(notifyUrl, {
    method: 'POST', body,
    headers: { 'Content-Type': 'application/json', 'Wechatpay-Timestamp': ts, 'Wechatpay-Nonce': n,
      'Wechatpay-Serial': KEY_ID, 'Wechatpay-Signature': sign(`${ts}\n${n}\n${body}\n`) },
  });
  return r.status;
}

function transaction(t) {
  return {
    appid: t.appid, mchid: t.mchid, out_trade_no: t.out_trade_no, transaction_id: t.transaction_id,
    trade_type: t.trade_type, trade_state: t.state, trade_state_desc: t.state,
    bank_type: 'OTHERS', success_time: t.success_time, payer: { openid: t.openid || '' },
    amount: { total: t.paid_total ?? t.total, payer_total: t.paid_total ?? t.total, currency: t.currency, payer_currency: 'CNY' },
  };
}

function refund(r) {
  return {
    refund_id: r.refund_id, out_refund_no: r.out_refund_no, transaction_id: r.transaction_id,
    out_trade_no: r.out_trade_no, channel: 'ORIGINAL', user_received_account: '支付用户零钱',
    create_time: r.create_time, status: r.status, refund_status: r.status, mchid: r.mchid,
    amount: { total: r.total, refund: r.refund, payer_total: r.total, payer_refund: r.refund, currency: 'CNY' },
  };
}

async function refundNews(r, status, copies = 1) {
  r.status = status;
  const plain = refund(r);
  delete plain.status; // a notification names it refund_status
  const event = status === 'SUCCESS' ? 'REFUND.SUCCESS' : status === 'CLOSED' ? 'REFUND.CLOSED' : 'REFUND.ABNORMAL';
  return Promise.all(Array.from({ length: copies }, () => notify(event, plain, 'refund')));
}

function bill(t) {
  return {
    mchid: t.mchid, out_bill_no: t.out_bill_no, transfer_bill_no: t.transfer_bill_no, appid: t.appid,
    state: t.state, transfer_amount: t.amount, openid: t.openid, fail_reason: t.fail_reason || '',
    create_time: t.create_time, update_time: new Date().toISOString(),
  };
}

const routes = [
  ['POST', /^\/v3\/fund-app\/mch-transfer\/transfer-bills$/, (m, body, res, auth) => {
    const b = JSON.parse(body);
    if (b.transfer_scene_id !== '1005' || !b.openid || !(b.transfer_amount > 0))
      return answer(res, 400, { code: 'PARAM_ERROR', message: '参数错误' });
    let t = transfers.get(b.out_bill_no);
    if (!t) {
      t = { mchid: auth.mchid, out_bill_no: b.out_bill_no, appid: b.appid, openid: b.openid, amount: b.transfer_amount,
        transfer_bill_no: `1330000${String(++seq).padStart(12, '0')}`, state: 'WAIT_USER_CONFIRM',
        create_time: new Date().toISOString() };
      transfers.set(b.out_bill_no, t);
    }
    return answer(res, 200, { out_bill_no: t.out_bill_no, transfer_bill_no: t.transfer_bill_no, create_time: t.create_time,
      state: t.state, package_info: `affffddafdfafddffda==${t.transfer_bill_no}` });
  }],
  ['GET', /^\/v3\/fund-app\/mch-transfer\/transfer-bills\/out-bill-no\/([^/?]+)$/, (m, body, res) => {
    const t = transfers.get(m[1]);
    if (!t) return answer(res, 404, { code: 'NOT_FOUND', message: '记录不存在' });
    return answer(res, 200, bill(t));
  }],
  ['POST', /^\/v3\/refund\/domestic\/refunds$/, (m, body, res) => {
    const b = JSON.parse(body);
    const t = [...trades.values()].find((x) => x.transaction_id === b.transaction_id || x.out_trade_no === b.out_trade_no);
    if (!t || t.state !== 'SUCCESS') return answer(res, 404, { code: 'RESOURCE_NOT_EXISTS', message: '订单不存在' });
    let r = refunds.get(b.out_refund_no);
    if (!r) {
      const done = [...refunds.values()].filter((x) => x.transaction_id === t.transaction_id && x.status !== 'CLOSED')
        .reduce((n, x) => n + x.refund, 0);
      if (b.amount.refund + done > t.total) return answer(res, 403, { code: 'NOT_ENOUGH', message: '可退金额不足' });
      r = { refund_id: `50300${String(++seq).padStart(10, '0')}`, out_refund_no: b.out_refund_no, transaction_id: t.transaction_id,
        out_trade_no: t.out_trade_no, mchid: t.mchid, total: b.amount.total, refund: b.amount.refund,
        status: 'PROCESSING', create_time: new Date().toISOString() };
      refunds.set(b.out_refund_no, r);
      if (mode.refund_notify) setTimeout(() => refundNews(r, 'SUCCESS'), 50);
    }
    return answer(res, 200, refund(r));
  }],
  ['GET', /^\/v3\/refund\/domestic\/refunds\/([^/?]+)$/, (m, body, res) => {
    const r = refunds.get(m[1]);
    if (!r) return answer(res, 404, { code: 'RESOURCE_NOT_EXISTS', message: '退款单不存在' });
    return answer(res, 200, refund(r));
  }],
  ['POST', /^\/v3\/pay\/transactions\/(jsapi|h5)$/, (m, body, res) => {
    const b = JSON.parse(body);
    const have = trades.get(b.out_trade_no);
    if (have && have.total !== b.amount.total) return answer(res, 400, { code: 'INVALID_REQUEST', message: '参数与首次请求时不一致' });
    const t = have || {
      out_trade_no: b.out_trade_no, appid: b.appid, mchid: b.mchid, total: b.amount.total, currency: b.amount.currency || 'CNY',
      trade_type: m[1].toUpperCase(), state: 'NOTPAY', openid: b.payer && b.payer.openid,
      transaction_id: `42000${String(Date.now()).slice(-9)}${String(++seq).padStart(6, '0')}`,
      prepay_id: `wx${crypto.randomBytes(14).toString('hex')}`, notify_url: b.notify_url,
    };
    trades.set(b.out_trade_no, t);
    return answer(res, 200, m[1] === 'jsapi' ? { prepay_id: t.prepay_id } : { h5_url: `https://standin.invalid/h5?prepay_id=${t.prepay_id}` });
  }],
  ['GET', /^\/v3\/pay\/transactions\/out-trade-no\/([^/?]+)\?mchid=(\w+)$/, (m, body, res) => {
    const t = trades.get(m[1]);
    if (!t) return answer(res, 404, { code: 'ORDER_NOT_EXIST', message: '订单不存在' });
    return answer(res, 200, transaction(t));
  }],
  ['POST', /^\/v3\/pay\/transactions\/out-trade-no\/([^/?]+)\/close$/, (m, body, res) => {
    const t = trades.get(m[1]);
    if (!t) return answer(res, 404, { code: 'ORDER_NOT_EXIST', message: '订单不存在' });
    if (t.state === 'SUCCESS') return answer(res, 400, { code: 'ORDERPAID', message: '订单已支付' });
    t.state = 'CLOSED';
    return answer(res, 204);
  }],
];

async function control(req, body, res) {
  const b = body ? JSON.parse(body) : {};
  if (req.url === '/_standin/mode') {
    Object.assign(mode, b);
    return answer(res, 200, mode);
  }
  if (req.url === '/_standin/notify-url') {
    notifyUrl = b.url;
    return answer(res, 200, { url: notifyUrl });
  }
  if (req.url === '/_standin/pay') { // the buyer pays in WeChat; WeChat Pay tells quanzi
    const t = trades.get(b.out_trade_no);
    if (!t) return answer(res, 404, { code: 'ORDER_NOT_EXIST' });
    t.state = 'SUCCESS';
    t.success_time = new Date().toISOString();
    if (b.total !== undefined) t.paid_total = b.total;
    const copies = b.notify === false ? 0 : b.copies || 1;
    const statuses = await Promise.all(Array.from({ length: copies }, () => notify('TRANSACTION.SUCCESS', transaction(t), 'transaction')));
    return answer(res, 200, { statuses, transaction_id: t.transaction_id });
  }
  if (req.url === '/_standin/refund') { // WeChat Pay finishes a refund, and says so
    const r = refunds.get(b.out_refund_no);
    if (!r) return answer(res, 404, { code: 'RESOURCE_NOT_EXISTS' });
    const statuses = b.notify === false ? (r.status = b.status, []) : await refundNews(r, b.status, b.copies || 1);
    return answer(res, 200, { statuses });
  }
  if (req.url === '/_standin/repay') { // the payment's notification again (after a refund, say)
    const t = trades.get(b.out_trade_no);
    if (!t) return answer(res, 404, { code: 'ORDER_NOT_EXIST' });
    const statuses = await Promise.all(Array.from({ length: b.copies || 1 }, () => notify('TRANSACTION.SUCCESS', transaction(t), 'transaction')));
    return answer(res, 200, { statuses });
  }
  if (req.url === '/_standin/transfer') { // the promoter confirms in WeChat; it succeeds or fails
    const t = transfers.get(b.out_bill_no);
    if (!t) return answer(res, 404, { code: 'NOT_FOUND' });
    t.state = b.state;
    t.fail_reason = b.fail_reason;
    const statuses = b.notify === false ? []
      : await Promise.all(Array.from({ length: b.copies || 1 }, () => notify('MCHTRANSFER.BILL.FINISHED', bill(t), 'mch_payment')));
    return answer(res, 200, { statuses });
  }
  if (req.url === '/_standin/oauth-code') { // WeChat gives the page a code for this openid
    codes.set(b.code, b.openid);
    return answer(res, 200, {});
  }
  if (req.url === '/_standin/requests') return answer(res, 200, { requests });
  return answer(res, 404, { code: 'NOT_FOUND' });
}

const server = http.createServer((req, res) => {
  let body = '';
  req.on('data', (d) => { body += d; });
  req.on('end', async () => {
    if (req.url.startsWith('/_standin/')) return control(req, body, res);
    if (req.url.startsWith('/sns/oauth2/access_token?')) { // WeChat's OAuth: signs nothing
      const q = new URL(req.url, 'http://standin').searchParams;
      const openid = codes.get(q.get('code'));
      res.writeHead(200, { 'Content-Type': 'application/json' });
      if (q.get('secret') !== appSecret || q.get('grant_type') !== 'authorization_code' || !openid)
        return res.end(JSON.stringify({ errcode: 40029, errmsg: 'invalid code' }));
      codes.delete(q.get('code'));
      return res.end(JSON.stringify({ access_token: crypto.randomBytes(16).toString('hex'), expires_in: 7200,
        refresh_token: crypto.randomBytes(16).toString('hex'), openid, scope: 'snsapi_base' }));
    }
    requests.push({ method: req.method, url: req.url });
    if (mode.slow_ms) await new Promise((r) => setTimeout(r, mode.slow_ms));
    if (mode.fail_next > 0 && (!mode.fail_path || req.url.startsWith(mode.fail_path))) {
      mode.fail_next -= 1;
      return answer(res, 500, { code: 'SYSTEM_ERROR', message: '系统错误' });
    }
    const auth = verified(req, body);
    if (!auth) return answer(res, 401, { code: 'SIGN_ERROR', message: '签名错误' });
    for (const [method, re, fn] of routes) {
      const m = req.method === method && re.exec(req.url);
      if (m) return fn(m, body, res, auth);
    }
    return answer(res, 404, { code: 'NOT_FOUND', message: '无此接口' });
  });
});
server.listen(0, '127.0.0.1', () => {
  fs.writeFileSync(process.argv[2], String(server.address().port));
});
