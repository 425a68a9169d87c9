-- submitLead with a new phone number per request, against the simulator's 200 ms latency.
package.path = "scripts/bench.d/?.lua;" .. package.path
local common = require("common")
common.post("")

local counter = 0
local thread_id = 0

function setup(thread)
  thread:set("thread_id", thread_id)
  thread_id = thread_id + 1
end

function request()
  counter = counter + 1
  local phone = string.format("15%d%08d", thread_id % 10, counter)
  local body = '{"query":"mutation($input: SubmitLeadInput!) { submitLead(input: $input) { lead { id deliveryStatus } } }","variables":{"input":{"phone":"' .. phone .. '","name":"压测","source":"benchmark"}}}'
  return wrk.format("POST", nil, nil, body)
end
