-- Shared by the scenario scripts: a POST of a GraphQL body with the token from $TOKEN.
local M = {}

function M.post(body)
  wrk.method = "POST"
  wrk.body = body
  wrk.headers["Content-Type"] = "application/json"
  wrk.headers["Authorization"] = "Bearer " .. os.getenv("TOKEN")
end

return M
