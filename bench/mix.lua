-- wrk script for bench/throughput.py: a closed loop over a list of requests, each a path and
-- the cookies of the person asking for it, read from the file named after `--` on the command
-- line (one request a line: PATH<TAB>COOKIE, the cookie possibly empty).
--
-- Every answer but a 2xx counts as an error, a redirect too (a signed-in page that sends its
-- reader to sign in has failed); wrk's own count leaves 3xx out. The figures are printed on one
-- line starting with "BENCH_JSON ", read by bench/throughput.py.

local threads = {}

function setup(thread)
   thread:set("offset", #threads)
   table.insert(threads, thread)
end

function init(args)
   requests = {}
   for line in io.lines(args[1]) do
      local path, cookie = line:match("^([^\t]+)\t?(.*)$")
      if path then
         local headers = {}
         if cookie ~= "" then headers["Cookie"] = cookie end
         table.insert(requests, wrk.format("GET", path, headers))
      end
   end
   -- Each thread starts elsewhere in the list, so the pages are spread over the connections.
   position = (offset * 7) % #requests
   errors = 0
   statuses = ""
   seen = {}
end

function request()
   position = position % #requests + 1
   return requests[position]
end

function response(status, headers, body)
   if status < 200 or status > 299 then
      errors = errors + 1
      seen[status] = (seen[status] or 0) + 1
      local parts = {}
      for code, count in pairs(seen) do table.insert(parts, code .. ":" .. count) end
      statuses = table.concat(parts, ",")
   end
end

function done(summary, latency, requests)
   local errors, statuses = 0, {}
   for _, thread in ipairs(threads) do
      errors = errors + thread:get("errors")
      local s = thread:get("statuses")
      if s ~= "" then table.insert(statuses, s) end
   end
   local e = summary.errors
   io.write(string.format(
      'BENCH_JSON {"requests": %d, "duration_us": %d, "bytes": %d, "not_2xx": %d, "statuses": "%s", '
      .. '"connect": %d, "read": %d, "write": %d, "timeout": %d, '
      .. '"p50_us": %d, "p90_us": %d, "p95_us": %d, "p99_us": %d, "mean_us": %.0f, "max_us": %d}\n',
      summary.requests, summary.duration, summary.bytes, errors, table.concat(statuses, ","),
      e.connect, e.read, e.write, e.timeout,
      latency:percentile(50), latency:percentile(90), latency:percentile(95), latency:percentile(99),
      latency.mean, latency.max))
end
