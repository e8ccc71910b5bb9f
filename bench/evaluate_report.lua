-- wrk script: each connection does what a mail server does for every login:
-- POST /v1/evaluate before the password check, then POST /v1/report with the
-- evaluation id and the outcome. 300 users over home and foreign addresses,
-- about one failure in eleven.
-- Usage: WARDEN_KEY=... wrk -t2 -c64 -d30s --latency -s bench/evaluate_report.lua http://127.0.0.1:8080
local key = os.getenv("WARDEN_KEY") or ""
local ips = { "113.88.1.10", "113.88.20.7", "183.6.14.2", "120.230.9.9", "61.135.1.1", "105.112.1.1", "81.2.69.142", "3.5.7.9" }
local counter = 0
local threads = {}

setup = function(thread)
  thread:set("id", #threads)
  table.insert(threads, thread)
end

init = function(args)
  n = id * 1000003
  -- wrk keeps one Lua state per thread, shared by its connections: a queue
  -- of evaluation ids still to report.
  pending = {}
  errors = 0
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. key
end

request = function()
  local id = table.remove(pending)
  if id then
    local outcome = (n % 11 == 0) and '"failure"' or '"success"'
    local body = '{"evaluation_id":"' .. id .. '","outcome":' .. outcome .. '}'
    return wrk.format("POST", "/v1/report", nil, body)
  end
  n = n + 1
  local user = "user" .. (n % 300) .. "@example.com"
  local ip = ips[(n % 7 == 0) and 6 + (n % 3) or 1 + (n % 5)]
  local body = '{"user":"' .. user .. '","ip":"' .. ip .. '","protocol":"imap","user_agent":"Foxmail 7.2"}'
  return wrk.format("POST", "/v1/evaluate", nil, body)
end

response = function(status, headers, body)
  if status ~= 200 then
    errors = errors + 1
    io.stderr:write("unexpected status " .. status .. ": " .. body .. "\n")
    return
  end
  local id = string.match(body, '"evaluation_id":"(%x+)"')
  if id then table.insert(pending, id) end
end

done = function(summary, latency, requests)
  local e = 0
  for _, t in ipairs(threads) do e = e + t:get("errors") end
  io.write(string.format("non-200 responses: %d\n", e))
end
