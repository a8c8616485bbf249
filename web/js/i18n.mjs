// The words of the pages: Chinese by default, English when chosen (remembered).
// L('中文', 'English') picks one; errors map their stable codes to words.

const KEY = 'quanzi.lang';
let lang = localStorage.getItem(KEY) === 'en' ? 'en' : 'zh';

export const getLang = () => lang;
export function setLang(l) {
  lang = l === 'en' ? 'en' : 'zh';
  localStorage.setItem(KEY, lang);
  document.documentElement.lang = lang === 'en' ? 'en' : 'zh-CN';
}
setLang(lang);

export const L = (zh, en) => (lang === 'en' ? en : zh);

// Every stable error code of the API (src/util/err.h), in words.
const ERRORS = {
  bad_json: ['请求格式有误', 'The request was not valid'],
  bad_request: ['请求有误', 'The request was not valid'],
  unknown_field: ['有多余的字段', 'The request has a field the server does not know'],
  missing_field: ['有必填项没填', 'Something required is missing'],
  wrong_type: ['填写的格式不对', 'A value has the wrong format'],
  out_of_range: ['数值超出允许的范围', 'A value is out of range'],
  invalid_value: ['填写的内容不符合要求', 'A value is not acceptable'],
  too_deep: ['请求嵌套太深', 'The request is nested too deeply'],
  weak_password: ['密码太简单：至少 8 位，别用常见密码', 'The password is too weak: 8 characters at least, not a common one'],
  unauthorized: ['请先登录', 'Please log in'],
  bad_credentials: ['账号或密码不对', 'Wrong login or password'],
  csrf_header_required: ['请刷新页面后再试', 'Please reload the page and try again'],
  forbidden: ['你没有权限这样做', 'You may not do that'],
  not_found: ['找不到，可能已被删除', 'Not found; it may have been removed'],
  method_not_allowed: ['不支持这个操作', 'That action is not supported'],
  conflict: ['状态已变化，请刷新后再试', 'It changed meanwhile; reload and try again'],
  login_taken: ['这个手机号或邮箱已注册，请直接登录', 'This login is taken; log in instead'],
  slug_taken: ['这个店铺地址已被占用，换一个吧', 'This shop address is taken; choose another'],
  already_member: ['你已经在这个圈子里了', 'You are already in this circle'],
  already_contact: ['你们已经是联系人了', 'You are already contacts'],
  circle_full: ['圈子已满', 'The circle is full'],
  out_of_stock: ['库存不足', 'Not enough in stock'],
  product_unavailable: ['商品已下架', 'The product is not on sale'],
  quantity_cap: ['超过了每人 30 天内的限购数量', 'More than one buyer may buy within 30 days'],
  illegal_transition: ['订单当前状态不能这样操作', 'The order cannot do that in its current state'],
  idempotency_in_flight: ['上一次提交还在处理，请稍候', 'The last submission is still being handled'],
  idempotency_key_reused: ['请刷新页面后重新提交', 'Reload the page and submit again'],
  experience_required: ['只有亲自买过并收到（或试用过）的人才能推荐', 'Only people who received it (or tried it) may recommend it'],
  already_promoter: ['你已经申请过推广员了', 'You have already applied'],
  self_invite: ['不能用自己的邀请码', 'You cannot use your own invite code'],
  invite_cycle: ['这个邀请关系会形成循环，不能使用', 'That invitation would go in a circle'],
  insufficient_balance: ['可提现余额不足', 'Not enough available balance'],
  daily_limit: ['超过了今天的提现上限', 'Over today\'s withdrawal limit'],
  hop_limit: ['推荐最多转两次：这条已经是第二次转发，不能再转了', 'A recommendation travels two hops at most: this one is already at the second'],
  busy_retry: ['服务器有点忙，请稍后再试', 'The server is busy; try again shortly'],
  body_too_large: ['内容太大了', 'That is too large'],
  unsupported_media_type: ['文件类型不支持（PNG、JPEG 或 WebP）', 'Unsupported file type (PNG, JPEG or WebP)'],
  unprocessable: ['这个操作不能完成', 'That cannot be done'],
  rate_limited: ['操作太频繁，请稍后再试', 'Too many attempts; try again later'],
  internal: ['服务器出错了，请稍后再试', 'Something went wrong; try again later'],
  db_error: ['服务器出错了，请稍后再试', 'Something went wrong; try again later'],
  unavailable: ['暂时无法保存，请稍后再试', 'Could not be saved; try again later'],
  network: ['网络不通，请检查后再试', 'No connection; check it and try again'],
};

// Field names as a person reads them, for "which field" in an error.
const FIELDS = {
  login: ['手机号或邮箱', 'phone or email'], password: ['密码', 'password'],
  display_name: ['昵称', 'name'], name: ['名称', 'name'], slug: ['店铺地址', 'shop address'],
  story: ['店铺故事', 'story'], title: ['商品名称', 'title'], price_fen: ['价格', 'price'],
  stock: ['库存', 'stock'], tags: ['标签', 'tags'], description: ['描述', 'description'],
  invite_code: ['邀请码', 'invite code'], amount_fen: ['金额', 'amount'], reason: ['原因', 'reason'],
  carrier: ['快递公司', 'carrier'], tracking: ['运单号', 'tracking number'],
  'address.name': ['收货人', 'recipient'], 'address.phone': ['电话', 'phone'],
  'address.region': ['地区', 'region'], 'address.line': ['详细地址', 'address'],
  rating: ['评分', 'rating'], text: ['评价', 'review'], note: ['备注', 'note'],
  circle_id: ['圈子', 'circle'], l1_bps: ['一级佣金', 'level-1 rate'], l2_bps: ['二级佣金', 'level-2 rate'],
  similarity_min: ['相似度门槛', 'similarity threshold'], settle_days: ['退货期', 'return window'],
  binding_days: ['绑定期', 'binding window'], buyer_cap_30d: ['限购', 'buyer cap'],
  items: ['商品', 'items'], qty: ['数量', 'quantity'], capacity: ['人数上限', 'capacity'],
};

export function errorText(err) {
  const pair = ERRORS[err.code];
  let text = pair ? L(pair[0], pair[1]) : (err.message || L('出错了', 'Something went wrong'));
  const f = err.field && FIELDS[err.field];
  if (f && !['weak_password', 'bad_credentials'].includes(err.code)) text += L(`（${f[0]}）`, ` (${f[1]})`);
  return text;
}

// Order, refund, promoter and other states.
const STATES = {
  created: ['待付款', 'awaiting payment'], paid: ['已付款，待发货', 'paid, to ship'],
  shipped: ['已发货', 'shipped'], delivered: ['已收货', 'received'], completed: ['已完成', 'completed'],
  cancelled: ['已取消', 'cancelled'], refunded: ['已退款', 'refunded'],
  requested: ['待处理', 'waiting'], approved: ['已同意', 'approved'], rejected: ['已拒绝', 'rejected'],
  withdrawn: ['已撤回', 'withdrawn'], pending: ['待审核', 'pending'], active: ['已通过', 'active'],
  suspended: ['已暂停', 'suspended'], paid_out: ['已打款', 'paid'],
  draft: ['草稿', 'draft'], on_sale: ['在售', 'on sale'], off: ['已下架', 'off sale'],
  open: ['待跟进', 'open'], done: ['已完成', 'done'], upheld: ['已成立', 'upheld'], dismissed: ['已驳回', 'dismissed'],
  delivered_share: ['已送达', 'delivered'], muted: ['屏蔽了', 'muted'], already_reached: ['已收到过', 'already reached'],
  recently_bought: ['最近买过', 'recently bought'], similarity: ['兴趣不相近', 'interests too far'],
  frequency: ['今天收到的推荐已够多', 'had enough today'], trust_cap: ['信任分不足时的人数上限', 'trust cap'],
};
export const stateText = (s) => (STATES[s] ? L(STATES[s][0], STATES[s][1]) : s);
