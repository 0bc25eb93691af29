-- The load of bench/run.ts, for wrk (Debian's wrk 4.1 with LuaJIT). Every request body is built here, so the
-- service and the ceiling server (bench/lib/ceiling-server.ts) get exactly the same requests.
--
--   wrk -t T -c C -d D --timeout 30s -s bench/load.lua http://HOST:PORT -- scenario=NAME tag=TAG [key=value ...]
--
-- scenario=events   POST /session/events, 2 events each, spread over `sessions` sessions registered beforehand
--                   with ids <prefix><0..sessions-1> (and the 20 results this file registers); event ids unique.
-- scenario=sessions POST /session with `results` results (default 20), a new random session_id per request.
-- scenario=mixed    like real traffic: a registration, then two event posts for that session, each sent only
--                   after the registration was answered (the session_id is taken from its answer).
-- scenario=pages    GET /internal/batch/sessions of `batch`, `limit` per page: `readers` readers per thread
--                   each follow last_number from a start spread over `sessions`, and wrap to 0 at the end.
-- scenario=rejects  POST /session/events that the service rejects (400 validation_failed: an event without
--                   object_id), each naming a session of its own: the flood of the events debugger's scenario.
-- `tag` makes ids unique per run (warm-up and measured run use different tags).
--
-- done() prints one line "BENCH-JSON {...}" with the totals, the latency percentiles (microseconds), the
-- status counts and the first non-2xx answers; bench/lib/wrk-runner.ts reads it for bench/run.ts.

local BASE = "/api/v1/clickstream"
local HEADERS = { ["Content-Type"] = "application/json" }

local threads = {}
local thread_count = 0

function setup(thread)
  thread_count = thread_count + 1
  thread:set("tid", thread_count)
  table.insert(threads, thread)
end

-- Per thread (each wrk thread has its own Lua state). Globals, because done() reads them with thread:get().
opts = {}
counter = 0
statuses = {}
samples = {}
events_stored = 0
sessions_ok = 0
sessions_read = 0
pending = {}
results_json = ""
nthreads = 1

local function opt(name, default)
  local value = opts[name]
  if value == nil then
    return default
  end
  return value
end

function init(args)
  for _, arg in ipairs(args) do
    local key, value = string.match(arg, "^([%w_]+)=(.*)$")
    if key then
      opts[key] = value
    end
  end
  nthreads = tonumber(opt("threads", "1"))
  local seed = tid
  for i = 1, #opt("tag", "t") do
    seed = (seed * 31 + string.byte(opt("tag", "t"), i)) % 2147483647
  end
  math.randomseed(seed)
  local parts = {}
  for i = 0, tonumber(opt("results", "20")) - 1 do
    parts[#parts + 1] = string.format('{"object_id":"obj-%d","rank":%.4f}', i, 1 / (i + 1))
  end
  results_json = "[" .. table.concat(parts, ",") .. "]"
  if opt("scenario", "") == "pages" then
    local readers = tonumber(opt("readers", "1"))
    local total = tonumber(opt("sessions", "0"))
    local all = readers * nthreads
    for r = 0, readers - 1 do
      local index = (tid - 1) * readers + r
      pending[#pending + 1] = math.floor(total * index / all)
    end
  end
end

local function session_body(id)
  return string.format(
    '{"session_id":"%s","search_query":"bench query %d","search_results":%s,"search_meta":{"source":"bench"},"user_id":"bench-user-%d"}',
    id,
    counter,
    results_json,
    counter % 1000
  )
end

local function events_body(session_id)
  local id = string.format("%s-%d-%d", opt("tag", "t"), tid, counter)
  return string.format(
    '{"session_id":"%s","events":[{"event_id":"%sa","object_id":"obj-%d","event_type":"click"},{"event_id":"%sb","object_id":"obj-%d","event_type":"view"}]}',
    session_id,
    id,
    counter % 20,
    id,
    (counter + 7) % 20
  )
end

-- Shaped like real clients' session ids (the seed's 32 hex digits) and as random: registrations land at
-- random places in a store's session_id index, as in production. The last 8 digits are the thread's counter,
-- so ids never repeat within a thread; the random part is seeded by tag and thread, so not across them.
local function new_session_id()
  return string.format(
    "%08x%08x%08x%08x",
    math.random(0, 0xffffffff),
    math.random(0, 0xffffffff),
    math.random(0, 0xffffffff),
    counter
  )
end

function request()
  counter = counter + 1
  local scenario = opts.scenario
  if scenario == "events" then
    local sessions = tonumber(opts.sessions)
    local index = (counter * nthreads + tid) % sessions
    return wrk.format("POST", BASE .. "/session/events", HEADERS, events_body(opts.prefix .. index))
  elseif scenario == "sessions" then
    return wrk.format("POST", BASE .. "/session", HEADERS, session_body(new_session_id()))
  elseif scenario == "mixed" then
    local n = #pending
    if n > 0 then
      local session_id = pending[n]
      pending[n] = nil
      return wrk.format("POST", BASE .. "/session/events", HEADERS, events_body(session_id))
    end
    return wrk.format("POST", BASE .. "/session", HEADERS, session_body(new_session_id()))
  elseif scenario == "rejects" then
    local body = string.format(
      '{"session_id":"flood-%s-%d-%d","events":[{"event_id":"e-%d","event_type":"click"}]}',
      opt("tag", "t"),
      tid,
      counter,
      counter
    )
    return wrk.format("POST", BASE .. "/session/events", HEADERS, body)
  elseif scenario == "pages" then
    local n = #pending
    local after = 0
    if n > 0 then
      after = pending[n]
      pending[n] = nil
    end
    local path = string.format(
      "%s/internal/batch/sessions?batch_id=%s&after_number=%d&limit=%s",
      BASE,
      opts.batch,
      after,
      opts.limit
    )
    return wrk.format("GET", path, {}, nil)
  end
  error("unknown scenario " .. tostring(scenario))
end

function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
  local scenario = opts.scenario
  if status < 200 or status > 299 then
    if #samples < 3 then
      samples[#samples + 1] = string.sub(body or "", 1, 300)
    end
    if scenario == "pages" then
      -- A failed page: that reader starts over, so the number of readers stays the same.
      pending[#pending + 1] = 0
    end
    return
  end
  if scenario == "events" then
    events_stored = events_stored + tonumber(string.match(body, '"stored":(%d+)') or "0")
  elseif scenario == "sessions" then
    sessions_ok = sessions_ok + 1
  elseif scenario == "mixed" then
    local stored = string.match(body, '"stored":(%d+)')
    if stored then
      events_stored = events_stored + tonumber(stored)
    else
      local session_id = string.match(body, '"session_id":"([^"]+)"')
      if session_id then
        sessions_ok = sessions_ok + 1
        pending[#pending + 1] = session_id
        pending[#pending + 1] = session_id
      end
    end
  elseif scenario == "pages" then
    -- last_number comes before the sessions in the answer, so the match stops early.
    local head = string.sub(body, 1, 400)
    local last = string.match(head, '"last_number":(%d+)')
    if last then
      pending[#pending + 1] = tonumber(last)
    else
      pending[#pending + 1] = 0
    end
    local count = 0
    for _ in string.gmatch(body, '"session_number":') do
      count = count + 1
    end
    sessions_read = sessions_read + count
  end
end

local function json_string(s)
  return '"' .. string.gsub(s, '[%c"\\]', function(c)
    return string.format("\\u%04x", string.byte(c))
  end) .. '"'
end

function done(summary, latency, _)
  local totals = { events_stored = 0, sessions_ok = 0, sessions_read = 0 }
  local status_counts = {}
  local sample_list = {}
  for _, thread in ipairs(threads) do
    for key, _ in pairs(totals) do
      totals[key] = totals[key] + (thread:get(key) or 0)
    end
    for status, count in pairs(thread:get("statuses") or {}) do
      status_counts[status] = (status_counts[status] or 0) + count
    end
    for _, sample in ipairs(thread:get("samples") or {}) do
      if #sample_list < 5 then
        sample_list[#sample_list + 1] = json_string(sample)
      end
    end
  end
  local status_parts = {}
  for status, count in pairs(status_counts) do
    status_parts[#status_parts + 1] = string.format('"%d":%d', status, count)
  end
  local e = summary.errors
  io.write(
    string.format(
      'BENCH-JSON {"requests":%d,"duration_us":%d,"bytes":%d,"errors":{"connect":%d,"read":%d,"write":%d,"status":%d,"timeout":%d},'
        .. '"latency_us":{"p50":%d,"p90":%d,"p99":%d,"max":%d,"mean":%.1f},"statuses":{%s},"samples":[%s],'
        .. '"events_stored":%d,"sessions_ok":%d,"sessions_read":%d}\n',
      summary.requests,
      summary.duration,
      summary.bytes,
      e.connect,
      e.read,
      e.write,
      e.status,
      e.timeout,
      latency:percentile(50),
      latency:percentile(90),
      latency:percentile(99),
      latency.max,
      latency.mean,
      table.concat(status_parts, ","),
      table.concat(sample_list, ","),
      totals.events_stored,
      totals.sessions_ok,
      totals.sessions_read
    )
  )
end
