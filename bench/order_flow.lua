-- wrk script: the order flow as buyers and the shop live it. Each connection
-- creates an order (fresh Idempotency-Key, rotating buyers), and confirms the
-- payment of the order it just created, parsed from the 201 answer.
-- Args: TOKENS_FILE SHOP_ID PRODUCT_ID OWNER_TOKEN [SHARE_TOKEN] [DELAY_MS]
-- With a share token every order is attributed to that promoter (by the link,
-- then by the binding it made) and its payment posts commission. With a delay
-- each connection waits that long before each request: a paced load (wrk's
-- delay(); latency is timed from the send, not from a schedule as wrk2 does).
local counter = 0
function setup(thread)
  counter = counter + 1
  thread:set("tid", counter)
end

function init(args)
  tokens = {}
  for line in io.lines(args[1]) do
    if #line > 0 then tokens[#tokens + 1] = line end
  end
  local share = ""
  if args[5] and #args[5] > 0 then share = string.format(',"share_token":"%s"', args[5]) end
  body = string.format('{"shop_id":%s,"items":[{"product_id":%s,"qty":1}]%s,' ..
    '"address":{"name":"压测","phone":"13800000000","region":"北京","line":"1号"}}', args[2], args[3], share)
  owner = args[4]
  run = os.time() -- keys are unique per run: another run's keys would be replays
  local pause = tonumber(args[6] or "")
  if pause then -- wrk looks for delay() after init()
    function delay() return pause end
  end
  n = 0
  pending = {}
end

function request()
  local id = table.remove(pending)
  if id then
    return wrk.format("POST", "/api/v1/orders/" .. id .. "/confirm-payment",
      {["Authorization"] = "Bearer " .. owner})
  end
  n = n + 1
  return wrk.format("POST", "/api/v1/orders", {
    ["Authorization"] = "Bearer " .. tokens[(n + tid * 7) % #tokens + 1],
    ["Content-Type"] = "application/json",
    ["Idempotency-Key"] = string.format("f-%d-%d-%d", run, tid, n),
  }, body)
end

function response(status, headers, body)
  if status == 201 then
    local id = string.match(body, '^{"id":(%d+)')
    if id then pending[#pending + 1] = id end
  end
end
