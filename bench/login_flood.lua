-- wrong logins of many accounts from many addresses (behind a trusted proxy): each one
-- under every rate limit, so that each costs a password hash (or its refusal)
local n = 0
request = function()
  n = n + 1
  local headers = {
    ["Content-Type"] = "application/json",
    ["X-Forwarded-For"] = string.format("198.51.%d.%d", math.floor(n / 250) % 250, n % 250 + 1),
  }
  return wrk.format("POST", "/api/v1/auth/login", headers,
    string.format('{"login":"139%08d","password":"not the password"}', n))
end
