-- SPDX-License-Identifier: Apache-2.0
-- wrk script: POST an AdmissionReview at a fixed rate of RATE requests/s
-- (default 10000). wrk cannot rate-limit by itself (and wrk2 is not packaged
-- in Debian), so every request takes the next slot of one schedule spaced
-- 1/RATE apart and waits for it in wrk's delay() hook (wrk's timers have 1 ms
-- resolution: requests leave in 1 ms batches, RATE/1000 per batch). Run with
-- -t1 so all connections share the schedule; -c must exceed RATE x latency.
-- When all connections are busy (or wrk's loop ran over 5 ms late) the
-- schedule restarts from now instead of bursting to catch up further, so the
-- achieved rate (wrk's Requests/sec) falls below RATE: report it. Latency is
-- measured by wrk from each request's send (no coordinated-omission fix).
local ffi = require("ffi")
ffi.cdef [[
typedef struct { long tv_sec; long tv_nsec; } invar_timespec;
int clock_gettime(int clock_id, invar_timespec* ts);
]]
local kMonotonic = 1
local ts = ffi.new("invar_timespec")
local function now_ms()
  ffi.C.clock_gettime(kMonotonic, ts)
  return tonumber(ts.tv_sec) * 1000 + tonumber(ts.tv_nsec) / 1e6
end

wrk.method = "POST"
local f = assert(io.open(os.getenv("REVIEW") or "review-5k.json", "r"))
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"

local interval_ms = 1000 / tonumber(os.getenv("RATE") or "10000")
local next_slot = nil
local kCatchUpMs = 5  -- a late wrk loop may catch up this much, in a burst

function delay()
  local now = now_ms()
  if next_slot == nil or next_slot < now - kCatchUpMs then
    next_slot = now
  end
  local wait = next_slot - now
  next_slot = next_slot + interval_ms
  if wait < 0 then
    wait = 0
  end
  return math.floor(wait + 0.5)
end
