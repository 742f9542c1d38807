-- SPDX-License-Identifier: Apache-2.0
-- post.lua - wrk script for bench/run: POSTs one signed Teamwork delivery.
-- Environment: BENCH_BODY (file holding the raw body), BENCH_SIG (the
-- Signature header value), BENCH_EVENT, BENCH_DELIVERY; BENCH_DISTINCT=1
-- makes each request's Delivery id its own (BENCH_DELIVERY-thread-n), as
-- a flood that varies its requests does: the module counts identical
-- refusals in a row in one row of its deliveries page, distinct ones not.
-- done() prints one machine-readable line that bench/run parses:
--   BENCH requests=N duration_us=N rps=X p50_us=N p99_us=N status_errors=N
--         socket_errors=N   (status_errors: responses with status > 399)

local function env(name)
   local v = os.getenv(name)
   if v == nil or v == "" then error(name .. " is not set") end
   return v
end

local f = assert(io.open(env("BENCH_BODY"), "rb"))
wrk.body = f:read("*a")
f:close()
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.headers["Event"] = env("BENCH_EVENT")
wrk.headers["Delivery"] = env("BENCH_DELIVERY")
wrk.headers["Signature"] = env("BENCH_SIG")

if os.getenv("BENCH_DISTINCT") == "1" then
   local threads = 0
   function setup(thread)
      threads = threads + 1
      thread:set("tid", threads)
   end
   local base, n = env("BENCH_DELIVERY"), 0
   function request()
      n = n + 1
      wrk.headers["Delivery"] = string.format("%s-%d-%d", base, tid or 0, n)
      return wrk.format()
   end
end

function done(summary, latency, requests)
   local e = summary.errors
   local secs = summary.duration / 1e6
   io.write(string.format(
      "BENCH requests=%d duration_us=%d rps=%.1f p50_us=%d p99_us=%d status_errors=%d socket_errors=%d\n",
      summary.requests, summary.duration, summary.requests / secs,
      latency:percentile(50), latency:percentile(99), e.status,
      e.connect + e.read + e.write + e.timeout))
end
