-- wrk script: every request carries its own idempotency key (no request is a replay), and
-- every 2xx answer is written down so the bench can check afterwards that it was stored.
-- wrk -s bench/unique_keys.lua URL -- MODE SECRET RUN OUTPUT_PREFIX
--   MODE api    POST /api/v1/complaints (JSON, Bearer SECRET, Idempotency-Key)
--   MODE kannel POST /webhooks/sms/kannel (form, secret=SECRET, id=key)
--   MODE bare   the api request, sent to a bare handler (nothing to check)
local threads = {}

function setup(thread)
  table.insert(threads, thread)
  thread:set("tid", #threads)
end

function init(args)
  mode, secret, run = args[1], args[2], args[3]
  out = io.open(args[4] .. "-" .. tid .. ".ok", "w")
  out:setvbuf("line")
  counter = 0
end

function request()
  counter = counter + 1
  local key = run .. "-" .. tid .. "-" .. counter
  local phone = string.format("0812%02d%07d", tid, counter % 10000000)
  if mode == "kannel" then
    local body = "secret=" .. secret .. "&from=%2B62" .. phone:sub(2) .. "&to=1708"
      .. "&text=AGAM+jalan+rusak+di+jorong+" .. key .. "&id=" .. key
    return wrk.format("POST", "/webhooks/sms/kannel",
      { ["Content-Type"] = "application/x-www-form-urlencoded" }, body)
  end
  local body = '{"region":"AGAM","text":"Jalan rusak di depan pasar, laporan ' .. key
    .. '","reporter":{"name":"Warga","phone":"' .. phone .. '"}}'
  return wrk.format("POST", "/api/v1/complaints", {
    ["Content-Type"] = "application/json",
    ["Authorization"] = "Bearer " .. secret,
    ["Idempotency-Key"] = key,
  }, body)
end

function response(status, headers, body)
  if status >= 200 and status < 300 then
    if mode == "api" then
      out:write((body:match('"tracking_ref":%s*"([^"]+)"') or "?"), "\n")
    else
      out:write("ok\n")
    end
  end
end
