#!/usr/bin/env python3
"""Sequential JSON-RPC calls over one keep-alive HTTP connection: calls/s
and latency percentiles. Usage: rpc_latency.py HOST:PORT (a running
`watt dev --rpc-rate-limit 0`)."""
import http.client, json, time, statistics, sys
host, port = sys.argv[1].split(":")
def bench(method, params, n=2000):
    c = http.client.HTTPConnection(host, int(port))
    lat = []
    body = json.dumps({"jsonrpc":"2.0","id":1,"method":method,"params":params})
    t0 = time.perf_counter()
    for _ in range(n):
        s = time.perf_counter()
        c.request("POST", "/", body, {"content-type":"application/json"})
        r = c.getresponse(); data = r.read()
        lat.append(time.perf_counter()-s)
        assert b'"result"' in data, data[:200]
    total = time.perf_counter()-t0
    lat.sort()
    print(f"{method:22s} {n/total:8.0f} calls/s  p50 {lat[len(lat)//2]*1e3:.2f} ms  p99 {lat[int(len(lat)*.99)]*1e3:.2f} ms")
bench("system_version", [])
bench("chain_getHeader", [])
bench("credits_getBalance", ["watt1gqe5tavk5xk8t539wp69v4t29qf3lu7y2d5f6q4pz90r7canae4sqrk079"])
bench("sites_canRun", [2])
bench("chain_getBlock", [])
