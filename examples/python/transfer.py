#!/usr/bin/env python3
"""Sends 500 Wh from the dev chain's "dev-valley-coop" to a fresh account,
with nothing but watt.py (PyNaCl + blake3) and JSON-RPC over HTTP.

    python3 transfer.py --rpc-url http://127.0.0.1:9944

Steps: read the chain id; derive the coop's public dev key; wait (bounded)
until the coop holds at least 1000 Wh; build, sign and submit a Transfer
with tx_submit; poll tx_getReceipt until the block that holds it is final;
check over credits_getBalance that the recipient's balance rose by exactly
the amount in that block. Exits 0 on success, 1 with a message otherwise.

The dev keys are public (seed = blake3("watt-dev-key:" + name)): never
use them on a real chain.
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
import watt  # noqa: E402

JSONRPC_TX_REJECTED = -32003


class Failure(Exception):
    pass


def log(msg: str) -> None:
    print(msg, flush=True)


def wait_for_funds(rpc: watt.Rpc, acct: str, minimum: int, timeout: float) -> dict:
    deadline = time.monotonic() + timeout
    last = None
    while True:
        info = rpc.account(acct)
        balance = int(info["balance"])
        if balance >= minimum:
            return info
        if balance != last:
            log(f"  coop balance {balance} Wh at height {info['height']}; waiting for {minimum} Wh...")
            last = balance
        if time.monotonic() > deadline:
            raise Failure(f"the coop still holds only {balance} Wh after {timeout:.0f} s "
                          f"(needs {minimum}); is the dev simulation minting?")
        time.sleep(1.0)


def submit(rpc: watt.Rpc, key: watt.Key, chain_id: bytes, body: dict,
           timeout: float) -> watt.SignedTx:
    """Signs and submits with the signer's next nonce, counting its pending
    transactions (`pendingNonce`). The dev simulation also signs for the
    coop (its site's consumption readings), so that nonce may be taken in
    the meantime: then the nonce after it is tried."""
    deadline = time.monotonic() + timeout
    while True:
        acct = rpc.account(key.account)
        # pendingNonce counts the sender's transactions already waiting in
        # the node's mempool; older nodes only give nonce.
        nonce = acct.get("pendingNonce", acct["nonce"])
        for ahead in range(4):
            tx = watt.sign_tx(key, chain_id, nonce + ahead, body)
            try:
                tx_id = rpc.submit(tx)
            except watt.RpcError as e:
                reason = e.reason or ""
                if e.code == JSONRPC_TX_REJECTED and "is pending" in reason:
                    log(f"  nonce {nonce + ahead} is taken by a pending transaction; trying the next")
                    continue
                if e.code == JSONRPC_TX_REJECTED and "is stale" in reason:
                    break  # a block just used it: read the nonce again
                raise
            if tx_id != watt.to_hex(tx.hash):
                raise Failure(f"the node's transaction id {tx_id} differs from ours "
                              f"{watt.to_hex(tx.hash)}: the tx-id hashing is wrong")
            log(f"  submitted with nonce {nonce + ahead}: id {tx_id}")
            return tx
        if time.monotonic() > deadline:
            raise Failure(f"could not find a free nonce for {key.account} in {timeout:.0f} s")
        time.sleep(0.3)


def wait_for_receipt(rpc: watt.Rpc, tx: watt.SignedTx, timeout: float) -> dict | None:
    """The receipt, or None if the transaction left the mempool without
    being included (a block made it invalid, or it broke a ledger rule: then
    the node answers a receipt with ``"status": "dropped"``, the ``rule`` in
    camelCase, e.g. ``insufficientBalance``, and the ``reason`` in words)."""
    tx_id = watt.to_hex(tx.hash)
    deadline = time.monotonic() + timeout
    while True:
        receipt = rpc.receipt(tx_id)
        if receipt is not None and receipt.get("status") == "dropped":
            log(f"  dropped at height {receipt.get('height')}: rule {receipt.get('rule')}, "
                f"{receipt.get('reason')}")
            return None
        if receipt is not None:
            return receipt
        if rpc.get_tx(tx_id) is None and rpc.receipt(tx_id) is None:
            return None
        if time.monotonic() > deadline:
            raise Failure(f"no receipt for {tx_id} after {timeout:.0f} s (still pending)")
        time.sleep(0.25)


def run(args: argparse.Namespace) -> None:
    rpc = watt.Rpc(args.rpc_url)
    chain_id = rpc.chain_id()
    log(f"node {rpc.call('system_version')} at {args.rpc_url}, chain id {watt.to_hex(chain_id)}")

    coop = watt.dev_key(args.sender)
    recipient = watt.dev_key(args.recipient).account
    log(f"sender    {args.sender}: {coop.account}")
    log(f"recipient {args.recipient}: {recipient}")

    info = wait_for_funds(rpc, coop.account, args.min_balance, args.funds_timeout)
    log(f"  coop holds {info['balance']} Wh at height {info['height']}, next nonce {info['nonce']}")

    body = watt.transfer(recipient, args.amount)
    for attempt in range(1, args.attempts + 1):
        tx = submit(rpc, coop, chain_id, body, args.receipt_timeout)
        receipt = wait_for_receipt(rpc, tx, args.receipt_timeout)
        if receipt is not None:
            break
        log(f"  attempt {attempt}: the transaction left the mempool without being included "
            f"(its nonce was used by another transaction, or it broke a ledger rule)")
    else:
        raise Failure(f"the transfer was not included after {args.attempts} attempts")

    loc = receipt["location"]
    height, block_hash = loc["height"], loc["blockHash"]
    if receipt["txHash"] != watt.to_hex(tx.hash):
        raise Failure(f"receipt is for {receipt['txHash']}, not {watt.to_hex(tx.hash)}")
    canonical = rpc.call("chain_getBlockHash", height)
    if canonical != block_hash:
        raise Failure(f"block {height} is {canonical}, but the receipt names {block_hash}")

    before = int(rpc.balance(recipient, height - 1)["total"])
    after = int(rpc.balance(recipient, height)["total"])
    now = rpc.balance(recipient)
    log(f"recipient balance: {before} Wh at height {height - 1}, {after} Wh at height {height} "
        f"({now['total']} Wh now at height {now['height']})")
    if after - before != args.amount:
        raise Failure(f"recipient balance rose by {after - before} Wh in block {height}, "
                      f"expected {args.amount}")
    transferred = [e for e in receipt["events"] if e.get("kind") == "transferred"]
    for e in transferred:
        parts = ", ".join(f"{amt} Wh of {v['zone']}@{v['hour']}" for v, amt in e.get("parts", []))
        log(f"  event transferred {e.get('from')} -> {e.get('to')}: {parts}")
    if not transferred:
        raise Failure(f"the receipt has no transferred event: {receipt['events']}")
    log(f"OK: {args.amount} Wh landed at height {height}, block {block_hash}, "
        f"index {loc['index']}, tx {receipt['txHash']}")


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--rpc-url", default="http://127.0.0.1:9944")
    p.add_argument("--sender", default="dev-valley-coop", help="dev key name of the sender")
    p.add_argument("--recipient", default="python-example-recipient",
                   help="dev key name of the recipient")
    p.add_argument("--amount", type=int, default=500, help="Wh to send")
    p.add_argument("--min-balance", type=int, default=1000,
                   help="wait until the sender holds this much")
    p.add_argument("--funds-timeout", type=float, default=120.0, help="seconds")
    p.add_argument("--receipt-timeout", type=float, default=60.0, help="seconds")
    p.add_argument("--attempts", type=int, default=3)
    args = p.parse_args()
    try:
        run(args)
        return 0
    except watt.RpcError as e:
        print(f"FAILED: {e}", file=sys.stderr)
        if e.code is not None:
            print(f"  JSON-RPC code {e.code}; error.data.reason: {e.reason!r}", file=sys.stderr)
        return 1
    except Failure as e:
        print(f"FAILED: {e}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    sys.exit(main())
