#!/usr/bin/env python3
"""A reference site controller for Watt: the thing a mining operator adapts
to their hardware.

It runs one mining site against a node over JSON-RPC:

* it subscribes to the site's status (``sites_subscribeStatus``) and to new
  blocks (``chain_subscribeNewHeads``) over WebSocket;
* it sets a (simulated) rig fleet's power to the most the chain allows:
  ``maxPowerW`` from the status, and, for a curtailment order it has seen
  coming (``grid_getCurtailments``), its share from the window's first second,
  so the rigs are already down when the window opens;
* it acknowledges each curtailment order, signed with the owner's key;
* each block, it signs the site meter's consumption readings (the energy the
  fleet drew) and submits them, splitting periods at whole hours and at
  window edges, as docs/protocol.md asks.

Everything it signs is built from docs/encoding.md through
``examples/python/watt.py``. To adapt it to real rigs, replace ``Fleet``
(set_power, and the meter's counter instead of the integral it keeps).

Usage::

    watt dev --base-path /tmp/dev --external-site NORTH-MINE
    python3 examples/site-controller/controller.py /tmp/dev/external-site.json \\
        --rpc http://127.0.0.1:9944

Requires the packages in requirements.txt (PyNaCl, blake3, websockets).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from dataclasses import dataclass, field
from typing import Optional

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
import watt  # noqa: E402

from websockets.sync.client import connect  # noqa: E402


@dataclass
class Window:
    """A curtailment window the site is in, with its share."""
    order: int
    start: int
    end: int
    share_w: int


@dataclass
class Fleet:
    """A simulated rig fleet: rigs of equal power, switched on up to a limit.

    Its meter counts whole Wh: each reading adds the period's energy
    rounded down (the meter's resolution), so no reading ever shows more
    than the power the rigs ran at."""
    rigs: int
    rig_w: int
    counted_wh: int = 0

    def power_under(self, limit_w: int) -> int:
        return min(self.rigs, limit_w // self.rig_w) * self.rig_w


@dataclass
class Site:
    site: int
    device: watt.Key
    owner: watt.Key
    max_draw_w: int
    sequence: int
    last_end: int
    counter_base: int          # the counter at the point the controller took over
    fleet: Fleet
    allowed_w: int = 0         # maxPowerW from the last status
    reason: str = "unknown"
    windows: dict[int, Window] = field(default_factory=dict)
    acked: set[int] = field(default_factory=set)
    to_ack: set[int] = field(default_factory=set)

    def limit_at(self, t: int) -> int:
        """The most the rigs may draw at chain time t (seconds)."""
        limit = self.allowed_w
        for w in self.windows.values():
            if w.start <= t < w.end:
                limit = min(limit, w.share_w)
        return limit

    def breakpoints(self, a: int, b: int) -> list[int]:
        """Where a period [a, b) must be cut: whole hours and window edges."""
        cuts = {t for w in self.windows.values() for t in (w.start, w.end) if a < t < b}
        cuts |= {h for h in range((a // 3600 + 1) * 3600, b, 3600)}
        return sorted(cuts)


def log(msg: str) -> None:
    print(time.strftime("%H:%M:%S"), msg, flush=True)


class Controller:
    def __init__(self, cfg: dict, rpc_url: str, rigs: int, fleet_w: Optional[int] = None):
        self.rpc = watt.Rpc(rpc_url)
        self.ws_url = rpc_url.replace("http://", "ws://").replace("https://", "wss://")
        self.chain_id = watt.hex_bytes(cfg["chainId"], 32)
        max_draw = int(cfg["maxDrawW"])
        self.site = Site(
            site=int(cfg["site"]),
            device=watt.Key(watt.hex_bytes(cfg["deviceSecret"], 32)),
            owner=watt.Key(watt.hex_bytes(cfg["ownerSecret"], 32)),
            max_draw_w=max_draw,
            sequence=int(cfg["lastSequence"]),
            last_end=int(cfg["lastEnd"]),
            counter_base=int(cfg["lastCounter"]),
            fleet=Fleet(rigs=rigs, rig_w=max(1, (fleet_w or max_draw) // rigs)),
        )
        self.name = cfg.get("name", f"site {self.site.site}")
        self.chain_time = 0  # the latest block's time, unix seconds
        self.until: Optional[int] = None

    # -- transactions ------------------------------------------------------

    def submit(self, body: dict) -> None:
        """Relays a body under a fresh, throwaway key with nonce 0.

        Consumption readings and acknowledgements carry their own
        signatures (the meter's, the owner's), so the chain lets anyone
        relay them and gives a relayer without an account none: nonce 0
        every time (docs/protocol.md, relayers). The owner's account and its
        nonce stay free for the owner's wallet, with no race between them."""
        relay = watt.Key(os.urandom(32))
        tx = watt.sign_tx(relay, self.chain_id, 0, body)
        try:
            self.rpc.submit(tx)
        except watt.RpcError as e:
            log(f"{self.name}: {body['type']} refused: {e}")

    def report(self, now: int) -> None:
        """Signs readings from the last period's end up to block time `now`,
        cut at whole hours and window edges, each integrating the power the
        rigs ran at."""
        s = self.site
        if now <= s.last_end:
            return
        readings = []
        points = [s.last_end, *s.breakpoints(s.last_end, now), now]
        for a, b in zip(points, points[1:]):
            power = s.fleet.power_under(s.limit_at(a))
            s.fleet.counted_wh += power * (b - a) // 3600
            s.sequence += 1
            # The JSON form of docs/rpc.md: camelCase names, Wh (the
            # counter) as a decimal string, ids, sequences and times as numbers.
            reading = {"site": s.site, "sequence": s.sequence, "periodStart": a,
                       "periodEnd": b, "counter": str(s.counter_base + s.fleet.counted_wh),
                       "flags": 0}
            readings.append(watt.sign_reading(s.device, self.chain_id, reading, consumption=True))
        s.last_end = now
        for i in range(0, len(readings), 64):
            self.submit({"type": "submitConsumption", "readings": readings[i:i + 64]})

    # -- what the chain says -----------------------------------------------

    def on_status(self, status: dict) -> None:
        """A status push: at the start and in every block that changes any
        of its fields (the balance and runway change often; the limit, the
        reason and `until` are what a controller acts on)."""
        s = self.site
        allowed = int(status.get("maxPowerW", "0"))
        reason = status.get("reason", status.get("status", "?"))
        until = status.get("until")
        if (allowed, reason, until) == (s.allowed_w, s.reason, self.until):
            return
        s.allowed_w, s.reason, self.until = allowed, reason, until
        power = s.fleet.power_under(allowed)
        if power == 0:
            action = "stop"
        elif reason == "curtailed":
            action = f"limit {power / 1000:g} kW"
        else:
            action = f"run {power / 1000:g} kW"
        log(f"{self.name}: {action} ({reason}" + (f" until {until})" if until else ")"))
        self.refresh_windows()

    def refresh_windows(self) -> None:
        """The orders that cover the site, upcoming or active, with its
        share; acknowledges those not yet acknowledged."""
        s = self.site
        orders = []
        for state in ("active", "upcoming"):
            orders += self.rpc.call("grid_getCurtailments", {"state": state, "site": s.site}, 200)
        s.windows.clear()
        for o in orders:
            end = o["cancelledAt"] if o.get("cancelledAt") else o["end"]
            for row in o["sites"]:
                if row["site"] != s.site:
                    continue
                s.windows[o["order"]] = Window(o["order"], o["start"], end, int(row["shareW"]))
                if row.get("ackedAt") is None and o["order"] not in s.acked:
                    s.to_ack.add(o["order"])

    def ack(self, order: int) -> None:
        """Acknowledges an order, seen at the time of the block after the
        one that announced it (a time the chain knows is not before it)."""
        ack = {"order": order, "site": self.site.site, "seenAt": self.chain_time}
        signed = watt.sign_curtailment_ack(self.site.owner, self.chain_id, ack)
        self.submit({"type": "ackCurtailment", "ack": signed})
        self.site.acked.add(order)
        w = self.site.windows.get(order)
        if w:
            log(f"{self.name}: acknowledged order {order}: at most {w.share_w / 1000:g} kW "
                f"from {w.start} to {w.end}")

    # -- the loop ------------------------------------------------------------

    def run(self, max_seconds: Optional[float]) -> None:
        deadline = None if max_seconds is None else time.monotonic() + max_seconds
        with connect(self.ws_url, max_size=2**22) as ws:
            subs: dict[str, str] = {}
            early: list[dict] = []  # notifications that came before a reply
            for i, (method, params) in enumerate(
                    [("sites_subscribeStatus", [self.site.site]),
                     ("chain_subscribeNewHeads", [])], start=1):
                ws.send(json.dumps({"jsonrpc": "2.0", "id": i, "method": method,
                                    "params": params}))
                while True:
                    reply = json.loads(ws.recv(timeout=10))
                    if reply.get("id") == i:
                        break
                    early.append(reply)
                if "error" in reply:
                    raise SystemExit(f"{method}: {reply['error']}")
                subs[str(reply["result"])] = method
            log(f"{self.name}: controlling site {self.site.site} "
                f"({self.site.fleet.rigs} rigs of {self.site.fleet.rig_w / 1000:g} kW)")
            while deadline is None or time.monotonic() < deadline:
                if early:
                    msg = early.pop(0)
                else:
                    try:
                        msg = json.loads(ws.recv(timeout=1))
                    except TimeoutError:
                        continue
                params = msg.get("params") or {}
                kind = subs.get(str(params.get("subscription")))
                if kind == "sites_subscribeStatus":
                    self.on_status(params["result"])
                elif kind == "chain_subscribeNewHeads":
                    self.chain_time = params["result"]["timestampMs"] // 1000
                    self.report(self.chain_time)
                    for order in sorted(self.site.to_ack):
                        self.ack(order)
                    self.site.to_ack.clear()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("site_file", help="external-site.json written by watt dev --external-site")
    ap.add_argument("--rpc", default="http://127.0.0.1:9944", help="the node's RPC URL")
    ap.add_argument("--rigs", type=int, default=20, help="rigs in the simulated fleet")
    ap.add_argument("--fleet-kw", type=float, default=None,
                    help="the fleet's total power (default: the site's max draw)")
    ap.add_argument("--seconds", type=float, default=None, help="stop after this long (tests)")
    args = ap.parse_args()
    with open(args.site_file) as f:
        cfg = json.load(f)
    try:
        fleet_w = None if args.fleet_kw is None else int(args.fleet_kw * 1000)
        Controller(cfg, args.rpc, args.rigs, fleet_w).run(args.seconds)
    except KeyboardInterrupt:
        pass


if __name__ == "__main__":
    main()
