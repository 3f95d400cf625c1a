-- wrk script for bench/http/run.sh: adds one machine-readable line to wrk's
-- own report, after the run, for the driver to read:
--
--   RESULT requests=N duration_us=N connect=N read=N write=N status=N
--          timeout=N p50_us=N p99_us=N max_us=N over2s=N
--
-- requests is wrk's count of completed responses; connect/read/write/timeout
-- are its socket error counts and status its count of answers with a status
-- above 399. p50 and p99 (microseconds) are the figures wrk itself prints
-- under "Latency Distribution".
--
-- over2s is the number of completed requests whose latency was over 2 s.
-- It needs care, because the histogram wrk hands to done() is not one
-- sample per request: before reporting, wrk "corrects for coordinated
-- omission" by adding, for each recorded latency n, synthetic samples at
-- n - E, n - 2E, ... (all above E), where E = duration / (requests /
-- connections) is the expected time between two requests on one
-- connection. So if data[n] is the corrected count at n and real[n] the
-- recorded one, data[n] = real[n] + data[n + E] for n > E, and the real
-- number of requests over L = 2 s telescopes to the corrected count in the
-- window (L, max(L, E) + E]. The corrected counts come from percentiles:
-- bisecting for the percentile at which the value first exceeds x gives
-- 100 * K(x) / C, where K(x) is the number of samples <= x and C the total,
-- and the count at the smallest value (latency(1)) fixes C.
--
-- Requests slower than wrk's --timeout are not in the histogram at all
-- (wrk counts them under timeout), so they are not in over2s either.
-- The connection count comes from the environment (BENCH_CONNECTIONS),
-- since wrk does not pass it to scripts; without it the figure is the
-- corrected count over 2 s, which may hold synthetic samples.

local LIMIT_US = 2000000

-- The percentile (0..100) at which the histogram's value first exceeds x:
-- 100 * K(x) / C. latency:percentile(p) answers the value at rank
-- round(p / 100 * C + 0.5), so it is <= x exactly while p < 100 * K(x) / C.
local function boundary(latency, x)
  local lo, hi = 0.0, 100.0
  for _ = 1, 64 do
    local mid = (lo + hi) / 2
    local v = latency:percentile(mid)
    -- 0 means the rank is past the last sample: above every value.
    if v ~= 0 and v <= x then
      lo = mid
    else
      hi = mid
    end
  end
  return hi
end

local function over_limit(summary, latency)
  local n = summary.requests
  if n == 0 or latency.max <= LIMIT_US then
    return 0
  end
  local min_value, min_count = latency(1)
  local conns = tonumber(os.getenv("BENCH_CONNECTIONS") or "")
  local upper = math.huge
  if conns and conns > 0 and math.floor(n / conns) > 0 then
    local e = math.floor(summary.duration / math.floor(n / conns))
    upper = math.max(LIMIT_US, e) + e
  end
  -- K(x) = min_count * boundary(x) / boundary(min_value)
  local b_min = boundary(latency, min_value)
  local function k(x)
    if x >= latency.max then
      return min_count * 100 / b_min
    end
    return min_count * boundary(latency, x) / b_min
  end
  return math.floor(k(upper) - k(LIMIT_US) + 0.5)
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "RESULT requests=%.0f duration_us=%.0f connect=%.0f read=%.0f write=%.0f "
      .. "status=%.0f timeout=%.0f p50_us=%.0f p99_us=%.0f max_us=%.0f over2s=%.0f\n",
    summary.requests, summary.duration, e.connect, e.read, e.write,
    e.status, e.timeout, latency:percentile(50), latency:percentile(99),
    latency.max, over_limit(summary, latency)))
end
