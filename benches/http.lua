-- wrk script for benches/http.sh. SCENARIO picks the request; IDS names a
-- file of customer ids (one per line) the requests pick from at random;
-- TOKEN is the bearer token. done() prints one machine-readable line.

local scenario = os.getenv("SCENARIO")
local token = os.getenv("TOKEN")
local ids = {}
local counter = 0

local graphql_360 = [[{"query":"query($id: ID!) { customer(id: $id) { id name email valueTier tags ]] ..
  [[contacts { id name email isPrimary } orders(limit: 10) { id amountMinor currency status orderedAt } ]] ..
  [[interactions(limit: 10) { id channel summary occurredAt } openFeedback { id subject status severity } ]] ..
  [[rfm { label rScore fScore mScore } orderSummary { orderCount totalSpend { currency amountMinor } } } }",]] ..
  [["variables":{"id":"%s"}}]]

local filters = { "tag=vip", "tag=newsletter&lifecycle_stage=active", "lifecycle_stage=at_risk", "tag=beta&sort=name_asc" }

function init(args)
  for line in io.lines(os.getenv("IDS")) do
    ids[#ids + 1] = line
  end
  math.randomseed(os.time() + tonumber(tostring({}):sub(8), 16))
end

local function headers(json)
  local h = { ["Authorization"] = "Bearer " .. token }
  if json then
    h["Content-Type"] = "application/json"
  end
  return h
end

function request()
  local id = ids[math.random(#ids)]
  if scenario == "by_id" then
    return wrk.format("GET", "/api/v1/customers/" .. id, headers(false))
  elseif scenario == "list" then
    counter = counter + 1
    return wrk.format("GET", "/api/v1/customers?limit=50&" .. filters[counter % #filters + 1], headers(false))
  elseif scenario == "overview" then
    return wrk.format("GET", "/api/v1/customers/" .. id .. "/overview", headers(false))
  elseif scenario == "graphql_360" then
    return wrk.format("POST", "/graphql", headers(true), string.format(graphql_360, id))
  elseif scenario == "post_interaction" then
    return wrk.format("POST", "/api/v1/customers/" .. id .. "/interactions", headers(true),
      '{"channel":"phone","direction":"outbound","summary":"Checked in after the delivery."}')
  end
  error("unknown SCENARIO " .. tostring(scenario))
end

function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("RESULT %d %d %d %d %d\n",
    summary.requests, summary.duration,
    e.connect + e.read + e.write + e.status + e.timeout,
    latency:percentile(50), latency:percentile(99)))
end
