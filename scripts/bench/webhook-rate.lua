-- wrk script: POST an AdmissionReview at a fixed rate. wrk cannot rate-limit
-- (and wrk2 is not packaged in Debian), so each connection waits DELAY_MS
-- milliseconds (wrk's delay() hook) before each request: with C connections
-- the offered rate is about C / (DELAY_MS/1000 + latency). The script prints
-- the achieved rate; latency is measured from each request's send, so it is
-- the service latency at that load (no coordinated-omission correction).
wrk.method = "POST"
local f = assert(io.open(os.getenv("REVIEW") or "review-5k.json", "r"))
wrk.body = f:read("*a")
f:close()
wrk.headers["Content-Type"] = "application/json"
local delay_ms = tonumber(os.getenv("DELAY_MS") or "3")
function delay()
  return delay_ms
end
