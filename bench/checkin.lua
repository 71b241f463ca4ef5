-- wrk: each request is one device checking in through its check-in URL, the device drawn at
-- random from the TOKENS devices bench/checkins gave a known token (64 hex digits of n).
local tokens = tonumber(os.getenv("TOKENS") or "10000")
math.randomseed(os.time())
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/x-www-form-urlencoded"
wrk.body = "message=ok&latitude=51.5&longitude=-0.12"
request = function()
  local n = math.random(0, tokens - 1)
  return wrk.format(nil, "/check-in/" .. string.format("%064x", n))
end
