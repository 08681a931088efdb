-- wrk script of `make bench`: prints one machine-readable summary line at the end.
-- With SESAME_BENCH_COOKIES=<file> (one session cookie value per line), request i of a thread
-- carries cookie (offset + i) mod n, so the load spreads over every session of the file.
-- SESAME_BENCH_COOKIE_START adds to every thread's offset: a run that follows another one goes
-- on where it stopped (`make soak`), instead of asking the first sessions of the file again.

local cookie_name = os.getenv("SESAME_BENCH_COOKIE_NAME") or "__Host-sesame"
local cookie_file = os.getenv("SESAME_BENCH_COOKIES")
local cookies = nil
local counter = 0
local thread_count = 0
local threads = {}

if cookie_file then
  cookies = {}
  for line in io.lines(cookie_file) do
    if #line > 0 then cookies[#cookies + 1] = line end
  end
end

local cookie_start = tonumber(os.getenv("SESAME_BENCH_COOKIE_START") or "0") or 0

function setup(thread)
  thread:set("offset", cookie_start + thread_count * 7919)
  thread_count = thread_count + 1
  threads[#threads + 1] = thread
end

if cookies then
  function request()
    counter = counter + 1
    local c = cookies[((offset or 0) + counter) % #cookies + 1]
    return wrk.format(nil, nil, { ["Cookie"] = cookie_name .. "=" .. c })
  end
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format(
    "WRKJSON {\"requests\":%d,\"duration_us\":%d,\"bytes\":%d,\"connect\":%d,\"read\":%d," ..
    "\"write\":%d,\"status\":%d,\"timeout\":%d,\"p50_us\":%d,\"p90_us\":%d,\"p99_us\":%d," ..
    "\"max_us\":%d}\n",
    summary.requests, summary.duration, summary.bytes, e.connect, e.read, e.write, e.status,
    e.timeout, latency:percentile(50), latency:percentile(90), latency:percentile(99),
    latency.max))
end

-- With SESAME_BENCH_HISTOGRAM set: the whole latency histogram too, "µs:count" pairs (wrk keeps
-- one bucket per microsecond; latency(i) is the i-th non-empty one), so that several short runs
-- can be merged into one distribution (the stall test's windows, bench/run.py).
if os.getenv("SESAME_BENCH_HISTOGRAM") then
  local report = done
  function done(summary, latency, requests)
    report(summary, latency, requests)
    local out = {}
    for i = 1, #latency do
      local value, count = latency(i)
      out[#out + 1] = string.format("%d:%d", value, count)
    end
    io.write("WRKHIST " .. table.concat(out, " ") .. "\n")
  end
end

-- With SESAME_BENCH_TIMELINE set: every response's status counted per wall-clock second
-- (os.time()), one tally per thread read back at the end, printed as "second:status:count"
-- triples (`make chaos`: when a fault's 5xx started and stopped). Costs wrk a Lua call per
-- response, so only the chaos runs ask for it.
if os.getenv("SESAME_BENCH_TIMELINE") then
  tally = {}
  function response(status, headers, body)
    local key = os.time() .. ":" .. status
    tally[key] = (tally[key] or 0) + 1
  end
  local report_timeline = done
  function done(summary, latency, requests)
    report_timeline(summary, latency, requests)
    local merged = {}
    for _, thread in ipairs(threads) do
      for key, count in pairs(thread:get("tally") or {}) do
        merged[key] = (merged[key] or 0) + count
      end
    end
    local out = {}
    for key, count in pairs(merged) do
      out[#out + 1] = key .. ":" .. count
    end
    io.write("WRKTIMELINE " .. table.concat(out, " ") .. "\n")
  end
end
