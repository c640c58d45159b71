#!/usr/bin/env python3
"""Checks watt.py against the golden vectors in runtime/tests/vectors/.

For every transaction in transactions.json: the unsigned encoding, the
signing hash, the (deterministic) ed25519 signature made from signer_seed,
the full encoding and the transaction id, byte for byte. Also the readings,
proof of possession, consensus objects and genesis vectors where
docs/encoding.md defines their layout, every account id in every
vector file (bech32m decode, re-encode, and the key it names), and
everything in feeders.json: the feeder transactions, the signed head meter
reading and declared load, the feeder events (with their event-root leaf)
and the feeder state entries (key, key hash, value, value hash), and
everything in sandbox.json: the sandbox transactions, the site owner's
signed curtailment acknowledgement, the sandbox events and the violations
of the two new kinds, and the sandbox state entries.

Exits 1 on any mismatch, 0 otherwise. Prints what it skipped.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, Callable

sys.path.insert(0, str(Path(__file__).resolve().parent))
import watt  # noqa: E402

VECTORS = Path(__file__).resolve().parents[2] / "runtime" / "tests" / "vectors"

failures: list[str] = []
checked = 0
skipped: list[str] = []


def expect(what: str, got: Any, want: Any) -> None:
    global checked
    checked += 1
    if isinstance(got, bytes):
        got = watt.to_hex(got)
    if isinstance(want, bytes):
        want = watt.to_hex(want)
    if isinstance(want, str):
        want = want.lower()
    if got != want:
        failures.append(f"{what}: got {got}, want {want}")


def load(name: str) -> dict:
    return json.loads((VECTORS / name).read_text())


def check_signed(file: str, v: dict, unsigned: bytes, signing_hash: bytes,
                 encode_full: Callable[[bytes], bytes],
                 id_tag: str | None = None) -> None:
    """The common part of every signed vector."""
    name = f"{file}:{v['name']}"
    key = watt.Key(watt.hex_bytes(v["signer_seed"], 32))
    expect(f"{name} public key from seed", key.public, v["signer_public_key"])
    expect(f"{name} unsigned_hex", unsigned, v["unsigned_hex"])
    expect(f"{name} signing_hash", signing_hash, v["signing_hash"])
    sig = key.sign(signing_hash)
    expect(f"{name} signature", sig, v["signature"])
    if not watt.verify(key.public, signing_hash, watt.hex_bytes(v["signature"], 64)):
        failures.append(f"{name}: the vector's signature does not verify")
    encoded = encode_full(sig)
    expect(f"{name} encoded_hex", encoded, v["encoded_hex"])
    if id_tag is not None:
        expect(f"{name} hash", watt.tagged_hash(id_tag, encoded), v["hash"])


def check_transactions(file: str = "transactions.json") -> set[str]:
    data = load(file)
    bodies: set[str] = set()
    for v in data["vectors"]:
        if v["type"] != "Transaction":
            continue
        u = v["fields"]["unsigned"]
        kind = u["body"]["type"]
        if kind not in watt.BODIES:
            skipped.append(f"{file}:{v['name']} (body {kind})")
            continue
        name = f"{file}:{v['name']}"
        try:
            expect(f"{name} signer account", watt.account(u["signer"]), v["signer_public_key"])
            unsigned = watt.unsigned_tx(u["chainId"], u["signer"], u["nonce"], u["body"])
            sh = watt.tagged_hash(watt.TAG_TX, unsigned)
            check_signed(file, v, unsigned, sh, lambda s: unsigned + s, watt.TAG_TX_ID)
            expect(f"{name} fields.signature", v["fields"]["signature"], v["signature"])
            # The high-level path a wallet uses must give the same bytes.
            key = watt.Key(watt.hex_bytes(v["signer_seed"], 32))
            tx = watt.sign_tx(key, u["chainId"], u["nonce"], u["body"])
            expect(f"{name} sign_tx().encoded", tx.encoded, v["encoded_hex"])
            expect(f"{name} sign_tx().hash", tx.hash, v["hash"])
            bodies.add(kind)
        except Exception as e:  # a field the encoder does not understand
            failures.append(f"{name}: {type(e).__name__}: {e}")
    return bodies


def check_readings() -> None:
    data = load("readings.json")
    chain_id = watt.hex_bytes(data["chain_id"], 32)
    for v in data["vectors"]:
        name = f"readings.json:{v['name']}"
        f = v["fields"]
        if v["type"] in ("Signed<GenerationReading>", "Signed<ConsumptionReading>"):
            cons = v["type"] == "Signed<ConsumptionReading>"
            enc = watt.consumption_reading if cons else watt.generation_reading
            tag = watt.TAG_CONSUMPTION_READING if cons else watt.TAG_GENERATION_READING
            unsigned = enc(f["reading"])
            sh = watt.signing_hash(tag, chain_id, unsigned)
            check_signed("readings.json", v, unsigned, sh, lambda s: unsigned + s)
            key = watt.Key(watt.hex_bytes(v["signer_seed"], 32))
            expect(f"{name} sign_reading()", watt.sign_reading(key, chain_id, f["reading"], cons),
                   {"reading": f["reading"], "signature": v["signature"]})
        elif v["type"] == "ProofOfPossession":
            payload = watt.proof_of_possession_payload(f["operator"],
                                                       watt._f(f, "consensus_key"))
            sh = watt.signing_hash(watt.TAG_PROOF_OF_POSSESSION, chain_id, payload)
            check_signed("readings.json", v, payload, sh,
                         lambda s: watt.proof_of_possession({"signature": watt.to_hex(s)}))
        else:
            skipped.append(f"{name} (type {v['type']})")


def check_consensus() -> None:
    data = load("consensus.json")
    for v in data["vectors"]:
        name = f"consensus.json:{v['name']}"
        f, t = v["fields"], v["type"]
        if t == "ValidatorSet":
            enc = watt.validator_set(f)
            expect(f"{name} encoded_hex", enc, v["encoded_hex"])
            expect(f"{name} hash", watt.tagged_hash(watt.TAG_VALIDATOR_SET, enc), v["hash"])
        elif t == "Header":
            enc = watt.header(f)
            expect(f"{name} encoded_hex", enc, v["encoded_hex"])
            expect(f"{name} hash", watt.tagged_hash(watt.TAG_HEADER, enc), v["hash"])
        elif t == "SignedProposal":
            unsigned = watt.proposal(f["proposal"])
            check_signed("consensus.json", v, unsigned,
                         watt.tagged_hash(watt.TAG_PROPOSAL, unsigned), lambda s: unsigned + s)
        elif t == "SignedVote":
            unsigned = watt.vote(f["vote"])
            check_signed("consensus.json", v, unsigned,
                         watt.tagged_hash(watt.TAG_VOTE, unsigned), lambda s: unsigned + s)
        elif t == "CommitCertificate":
            enc = watt.commit_certificate(f)
            expect(f"{name} encoded_hex", enc, v["encoded_hex"])
            expect(f"{name} hash", watt.tagged_hash(watt.TAG_COMMIT, enc), v["hash"])
        else:
            skipped.append(f"{name} (type {t})")


def check_genesis_state_events() -> None:
    data = load("genesis-state-events.json")
    for v in data["vectors"]:
        name = f"genesis-state-events.json:{v['name']}"
        t = v["type"]
        if t == "Genesis":
            enc = watt.genesis(v["fields"])
            expect(f"{name} encoded_hex", enc, v["encoded_hex"])
            expect(f"{name} hash (chain id)", watt.tagged_hash(watt.TAG_GENESIS, enc), v["hash"])
        elif t == "Account":
            # key = 0x01 || account; value = Account { nonce, holdings: map }.
            expect(f"{name} key_hex", watt.account_state_key(
                watt.hex_bytes(v["key_hex"])[1:]), v["key_hex"])
            expect(f"{name} key_hash",
                   watt.tagged_hash(watt.TAG_STATE_KEY, watt.hex_bytes(v["key_hex"])),
                   v["key_hash"])
            f = v["fields"]
            value = watt.account_value(f["nonce"], f["holdings"])
            expect(f"{name} encoded_hex", value, v["encoded_hex"])
            expect(f"{name} value_hash", watt.tagged_hash(watt.TAG_STATE_VALUE, value),
                   v["value_hash"])
        else:
            # The genesis state root needs every state value's layout
            # (runtime/src/state/values.rs), and event records need every
            # event's fields (runtime/src/events.rs): encoding.md gives neither.
            skipped.append(f"{name} (type {t}: layout not in docs/encoding.md)")


def check_feeders() -> set[str]:
    """feeders.json: transactions, signed readings and loads, events and
    state entries."""
    file = "feeders.json"
    bodies = check_transactions(file)
    data = load(file)
    chain_id = watt.hex_bytes(data["chain_id"], 32)
    signed_kinds = {
        "Signed<FeederReading>": (watt.feeder_reading, watt.TAG_FEEDER_READING,
                                  watt.sign_feeder_reading),
        "Signed<DeclaredLoad>": (watt.declared_load, watt.TAG_DECLARED_LOAD,
                                 watt.sign_declared_load),
    }
    for v in data["vectors"]:
        name = f"{file}:{v['name']}"
        t, f = v["type"], v.get("fields")
        try:
            if t == "Transaction":
                continue  # above
            if t in signed_kinds:
                enc, tag, sign = signed_kinds[t]
                unsigned = enc(f["reading"])
                sh = watt.signing_hash(tag, chain_id, unsigned)
                check_signed(file, v, unsigned, sh, lambda s: unsigned + s)
                key = watt.Key(watt.hex_bytes(v["signer_seed"], 32))
                expect(f"{name} sign()", sign(key, chain_id, f["reading"]),
                       {"reading": f["reading"], "signature": v["signature"]})
            elif t == "EventRecord":
                enc = watt.event_record(f)
                expect(f"{name} encoded_hex", enc, v["encoded_hex"])
                expect(f"{name} hash (event root)", watt.event_root([enc]), v["hash"])
            elif t in ("Feeder", "FeederHour", "FeederDue", "Attachment", "ClosedHour",
                       "OpenAlert", "FeederCount"):
                k = v["key"]
                if t == "Feeder":
                    key = watt.feeder_state_key(k["feeder"])
                    value = watt.feeder_value(f)
                elif t == "FeederHour":
                    key = watt.feeder_hour_state_key(k["feeder"], k["hour"])
                    value = watt.feeder_hour_value(f)
                elif t == "FeederDue":
                    key = watt.feeder_due_state_key(k["closeAfter"], k["feeder"])
                    value = b""  # an index entry: the empty value
                elif t == "ClosedHour":
                    key = watt.feeder_balance_state_key(k["feeder"], k["hour"])
                    value = watt.closed_hour_value(f)
                elif t == "OpenAlert":
                    key = watt.open_alert_state_key(k["feeder"])
                    value = b""  # an index entry: the empty value
                elif t == "FeederCount":
                    key = watt.feeder_count_state_key()
                    value = watt.u32(f)
                else:
                    key = watt.attachment_state_key(k["device"], k["fromHour"])
                    value = watt.feeder_id(f)
                expect(f"{name} key_hex", key, v["key_hex"])
                expect(f"{name} key_hash", watt.tagged_hash(watt.TAG_STATE_KEY, key),
                       v["key_hash"])
                expect(f"{name} encoded_hex", value, v["encoded_hex"])
                expect(f"{name} value_hash", watt.tagged_hash(watt.TAG_STATE_VALUE, value),
                       v["value_hash"])
            else:
                skipped.append(f"{name} (type {t})")
        except Exception as e:  # a field the encoder does not understand
            failures.append(f"{name}: {type(e).__name__}: {e}")
    return bodies


# sandbox.json's state entries: type -> (key from the key's parts, value
# from the fields). Index entries have the empty value.
SANDBOX_STATE: dict[str, tuple[Callable[[dict], bytes], Callable[[Any], bytes]]] = {
    "ZoneSandbox": (lambda k: watt.zone_sandbox_state_key(k["zone"]), watt.zone_sandbox_value),
    "Permit": (lambda k: watt.permit_state_key(k["site"]), watt.permit_value),
    "FeederPermit": (lambda k: watt.feeder_permit_state_key(k["feeder"], k["site"]),
                     lambda f: b""),
    "PermitUsage": (lambda k: watt.permit_usage_state_key(k["site"], k["month"]), watt.u64),
    "Curtailment": (lambda k: watt.order_state_key(k["order"]), watt.curtailment_value),
    "OrderSite": (lambda k: watt.order_site_state_key(k["order"], k["site"]),
                  watt.order_site_value),
    "PendingWindow": (lambda k: watt.pending_order_state_key(k["zone"], k["order"]),
                      watt.pending_window_value),
    "OrderDue": (lambda k: watt.order_due_state_key(k["judgeAfter"], k["order"]),
                 lambda f: b""),
    "OrderCount": (lambda k: watt.order_count_state_key(), watt.u64),
    "FeederSite": (lambda k: watt.feeder_site_state_key(k["feeder"], k["site"]),
                   lambda f: b""),
}


def check_sandbox() -> set[str]:
    """sandbox.json: the sandbox transactions, the owner's signed
    curtailment acknowledgement, the sandbox and violation events and the
    sandbox state entries."""
    file = "sandbox.json"
    bodies = check_transactions(file)
    data = load(file)
    chain_id = watt.hex_bytes(data["chain_id"], 32)
    kinds: set[str] = set()
    tables: set[int] = set()
    for v in data["vectors"]:
        name = f"{file}:{v['name']}"
        t, f = v["type"], v.get("fields")
        try:
            if t == "Transaction":
                body = v["fields"]["unsigned"]["body"]
                if body["type"] == "ackCurtailment":
                    # The acknowledgement inside is the owner's, under its
                    # own tag: it must verify on its own.
                    ack = body["ack"]
                    owner = watt.Key(watt.hex_bytes(v["signer_seed"], 32))
                    expect(f"{name} ack signature", watt.sign_curtailment_ack(
                        owner, chain_id, ack["reading"]), ack)
                continue  # the rest above
            if t == "Signed<CurtailmentAck>":
                unsigned = watt.curtailment_ack(f["reading"])
                sh = watt.curtailment_ack_signing_hash(chain_id, f["reading"])
                expect(f"{name} signing hash = H(tag, chain id || ack)", sh,
                       watt.signing_hash(watt.TAG_CURTAILMENT_ACK, chain_id, unsigned))
                check_signed(file, v, unsigned, sh, lambda s: unsigned + s)
                expect(f"{name} signed_curtailment_ack()", watt.signed_curtailment_ack(f),
                       v["encoded_hex"])
                key = watt.Key(watt.hex_bytes(v["signer_seed"], 32))
                expect(f"{name} sign_curtailment_ack()",
                       watt.sign_curtailment_ack(key, chain_id, f["reading"]),
                       {"reading": f["reading"], "signature": v["signature"]})
            elif t == "EventRecord":
                enc = watt.event_record(f)
                expect(f"{name} encoded_hex", enc, v["encoded_hex"])
                expect(f"{name} hash (event root)", watt.event_root([enc]), v["hash"])
                kinds.add(f["event"]["kind"])
            elif t in SANDBOX_STATE:
                key_of, value_of = SANDBOX_STATE[t]
                key = key_of(v["key"])
                value = value_of(f)
                expect(f"{name} key_hex", key, v["key_hex"])
                expect(f"{name} key_hash", watt.tagged_hash(watt.TAG_STATE_KEY, key),
                       v["key_hash"])
                expect(f"{name} encoded_hex", value, v["encoded_hex"])
                expect(f"{name} value_hash", watt.tagged_hash(watt.TAG_STATE_VALUE, value),
                       v["value_hash"])
                tables.add(key[0])
            else:
                skipped.append(f"{name} (type {t})")
        except Exception as e:  # a field the encoder does not understand
            failures.append(f"{name}: {type(e).__name__}: {e}")
    # The file covers every sandbox event, both new violation kinds and
    # every sandbox table.
    sandbox_events = {k for k, (tag, _) in watt.EVENTS.items() if 44 <= tag <= 50}
    expect(f"{file}: sandbox event kinds with a vector",
           sorted(kinds & sandbox_events), sorted(sandbox_events))
    expect(f"{file}: sandbox tables with a vector", sorted(tables), list(range(0x17, 0x21)))
    # utc_month agrees with the key of the usage vector (March 2026).
    expect("utc_month(2026-03-01T00Z)", watt.utc_month(490_896 + 59 * 24), 2026 * 12 + 2)
    return bodies


def account_strings(x: Any) -> list[str]:
    if isinstance(x, str):
        return [x] if x.startswith("watt1") else []
    if isinstance(x, dict):
        return [s for v in x.values() for s in account_strings(v)]
    if isinstance(x, list):
        return [s for v in x for s in account_strings(v)]
    return []


def check_accounts() -> int:
    seen: set[str] = set()
    for path in sorted(VECTORS.glob("*.json")):
        for s in account_strings(json.loads(path.read_text())):
            if s in seen:
                continue
            seen.add(s)
            try:
                key = watt.account_from_text(s)
            except ValueError as e:
                failures.append(f"{path.name}: account {s} does not decode: {e}")
                continue
            expect(f"{path.name}: account {s} round trip", watt.account_to_text(key), s)
            expect(f"{path.name}: account {s} upper case", watt.account_from_text(s.upper()), key)
    # The signer accounts name the signer keys.
    for file in ("transactions.json", "feeders.json", "sandbox.json"):
        for v in load(file)["vectors"]:
            if v["type"] != "Transaction":
                continue
            expect(f"{file}:{v['name']} signer = watt1(public key)",
                   watt.account_to_text(watt.hex_bytes(v["signer_public_key"], 32)),
                   v["fields"]["unsigned"]["signer"])
    # Defects must be refused.
    good = sorted(seen)[0]
    flipped = good[:-1] + ("q" if good[-1] != "q" else "p")
    bech32_not_m = bech32_classic(good)
    for bad, why in [(flipped, "a changed character"), (bech32_not_m, "a bech32 (not m) checksum"),
                     ("btc1" + good[5:], "another prefix"), (good[:10] + good[10:].upper(), "mixed case")]:
        global checked
        checked += 1
        try:
            watt.account_from_text(bad)
            failures.append(f"account with {why} was accepted: {bad}")
        except ValueError:
            pass
    return len(seen)


def bech32_classic(s: str) -> str:
    """The same data with a bech32 (constant 1) checksum."""
    hrp, data = watt.bech32m_decode(s)
    five = watt._convertbits(data, 8, 5, True)
    pm = watt._polymod(watt._hrp_expand(hrp) + five + [0] * 6) ^ 1
    return hrp + "1" + "".join(watt._CHARSET[d] for d in five + [(pm >> 5 * (5 - i)) & 31 for i in range(6)])


def main() -> int:
    if not VECTORS.is_dir():
        print(f"vectors not found at {VECTORS}", file=sys.stderr)
        return 2
    bodies = check_transactions()
    bodies |= check_feeders()
    bodies |= check_sandbox()
    check_readings()
    check_consensus()
    check_genesis_state_events()
    n_accounts = check_accounts()

    all_bodies = set(watt.BODIES)
    print(f"vectors: {VECTORS}")
    print(f"bodies checked ({len(bodies)}/{len(all_bodies)}): {', '.join(sorted(bodies))}")
    missing = all_bodies - bodies
    if missing:
        print(f"bodies with no vector checked: {', '.join(sorted(missing))}")
    print(f"account ids checked: {n_accounts}")
    for s in skipped:
        print(f"skipped: {s}")
    for f in failures:
        print(f"MISMATCH: {f}")
    print(f"{checked} checks, {len(failures)} mismatches")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
