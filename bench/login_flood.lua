-- wrong logins from many addresses (behind a trusted proxy), as the issue's flood
local n = 0
request = function()
  n = n + 1
  local headers = {
    ["Content-Type"] = "application/json",
    ["X-Forwarded-For"] = string.format("198.51.%d.%d", (n // 250) % 250, n % 250 + 1),
  }
  return wrk.format("POST", "/api/v1/auth/login", headers,
    '{"login":"13910000001","password":"not the password"}')
end
local by_status = {}
response = function(status)
  by_status[status] = (by_status[status] or 0) + 1
end
done = function()
  for s, c in pairs(by_status) do io.write(string.format("login answers %d: %d\n", s, c)) end
end
