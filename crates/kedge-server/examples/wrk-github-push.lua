-- wrk script for docs/perf-server.md: POST one correctly signed GitHub push
-- again and again. wrk cannot compute HMACs, so the body and its signature are
-- precomputed: KEDGE_BODY is the payload file, KEDGE_SIGNATURE its
-- X-Hub-Signature-256 (the fixture's .headers sidecar holds it).
local file = assert(io.open(os.getenv("KEDGE_BODY"), "rb"))
wrk.method = "POST"
wrk.path = "/webhooks/github"
wrk.body = file:read("*a")
file:close()
wrk.headers["Content-Type"] = "application/json"
wrk.headers["X-GitHub-Event"] = "push"
wrk.headers["X-GitHub-Delivery"] = "load-test"
wrk.headers["X-Hub-Signature-256"] = os.getenv("KEDGE_SIGNATURE")

local statuses = {}
function response(status, headers, body)
  statuses[status] = (statuses[status] or 0) + 1
end

function done(summary, latency, requests)
  io.write(string.format("p50 %.3f ms, p99 %.3f ms, p99.9 %.3f ms\n",
    latency:percentile(50) / 1000, latency:percentile(99) / 1000, latency:percentile(99.9) / 1000))
end
