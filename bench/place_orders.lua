-- wrk script: POST /orders with a fresh order on every request (the server
-- picks the ids). Counts the answers by status and fails loudly in done()
-- when any answer is not 201, so a fast run of errors cannot pass as a result.
local threads = {}

function setup(thread)
  table.insert(threads, thread)
end

function init(args)
  counts = {}
  n = 0
end

local body = '{"customer_id":"bench-customer","items":[' ..
  '{"sku":"sku-espresso-1kg","quantity":2,"unit_price_cents":1899},' ..
  '{"sku":"sku-grinder-c2","quantity":1,"unit_price_cents":12900}],' ..
  '"shipping_address":{"country":"NL","city":"Amsterdam","line1":"Keizersgracht 1","postal_code":"1015CD"}}'

request = function()
  n = n + 1
  return wrk.format("POST", "/orders", {["Content-Type"] = "application/json"}, body)
end

response = function(status, headers, body)
  counts[status] = (counts[status] or 0) + 1
end

done = function(summary, latency, requests)
  local total, created = 0, 0
  for _, thread in ipairs(threads) do
    local c = thread:get("counts")
    for status, k in pairs(c) do
      total = total + k
      if status == 201 then created = created + k end
    end
  end
  io.write(string.format("STATUS created=%d other=%d\n", created, total - created))
end
