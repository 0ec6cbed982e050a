-- wrk script: POST /v1/reports with a fresh Idempotency-Key per request, points in Dijon.
-- Environment: SIGNALE_TOKEN (ID token), DELAY_MS (pause per connection, for a fixed rate).
local threads = {}
local token = os.getenv("SIGNALE_TOKEN")
local pause = tonumber(os.getenv("DELAY_MS") or "0")
local counter = 0

function setup(thread)
  thread:set("id", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  math.randomseed(os.time() * 1000 + id)
end

function request()
  counter = counter + 1
  local body = string.format(
    '{"category":"pothole","location":{"lon":%.6f,"lat":%.6f},"answers":{"size":"small"},'
    .. '"description":"Nid-de-poule (benchmark)"}',
    5.00 + math.random() * 0.07, 47.30 + math.random() * 0.04)
  return wrk.format("POST", "/v1/reports", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. token,
    ["Idempotency-Key"] = string.format("bench-%d-%d-%d-%d", id, os.time(), counter,
                                        math.random(1, 1000000000)),
  }, body)
end

if pause > 0 then
  function delay() return pause end
end

function done(summary, latency, requests)
  io.write(string.format("RESULT %d %d %d %d %.0f %.0f %.0f\n", summary.requests,
    summary.errors.status, summary.errors.connect + summary.errors.read
    + summary.errors.write + summary.errors.timeout, summary.duration,
    latency:percentile(50), latency:percentile(95), latency:percentile(99)))
end
