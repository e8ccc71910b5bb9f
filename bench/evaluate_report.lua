-- wrk script: alternates POST /v1/evaluate and POST /v1/report (without an
-- evaluation id) for 300 users over a few home and foreign addresses.
-- Usage: wrk -t2 -c64 -d30s --latency -s bench/evaluate_report.lua http://127.0.0.1:8080
local key = os.getenv("WARDEN_KEY") or ""
local ips = { "113.88.1.10", "113.88.20.7", "183.6.14.2", "120.230.9.9", "61.135.1.1", "105.112.1.1", "81.2.69.142", "3.5.7.9" }
local n = 0
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Authorization"] = "Bearer " .. key

request = function()
  n = n + 1
  local user = "user" .. (n % 300) .. "@example.com"
  local ip = ips[(n % 7 == 0) and 6 + (n % 3) or 1 + (n % 5)]
  if n % 2 == 0 then
    local body = string.format('{"user":"%s","ip":"%s","protocol":"imap","user_agent":"Foxmail 7.2"}', user, ip)
    return wrk.format("POST", "/v1/evaluate", nil, body)
  else
    local outcome = (n % 11 == 0) and "failure" or "success"
    local body = string.format('{"user":"%s","ip":"%s","protocol":"imap","outcome":"%s"}', user, ip, outcome)
    return wrk.format("POST", "/v1/report", nil, body)
  end
end

response = function(status, headers, body)
  if status ~= 200 then
    io.stderr:write("unexpected status " .. status .. ": " .. body .. "\n")
  end
end
