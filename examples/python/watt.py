"""A small, dependency-light Watt wallet library, written from docs/encoding.md.

It shows that a third party can build, sign and submit Watt transactions
without any Rust: everything here follows the byte-level rules of
docs/encoding.md and is checked against runtime/tests/vectors/ by
check_vectors.py.

Contents
  * bech32m account ids (``watt1...``)                      encoding.md sections 2
  * canonical (borsh) encoding of primitives                 section 1
  * every transaction body, readings, votes, proposals,
    headers, validator sets, commit certificates, genesis    sections 5-8
  * feeders: their bodies, head meter readings and declared
    loads (signed under their own tags), their events and
    state entries                                            sections 5, 6, 9, 10
  * the sandbox: permit and curtailment bodies, the site
    owner's signed curtailment acknowledgement, violation
    and sandbox events, the sandbox state tables             sections 5, 6, 9, 10
  * domain-tagged blake3 hashes and signing hashes           section 3
  * ed25519 signing (PyNaCl) and transaction ids             sections 4-5
  * a tiny JSON-RPC 2.0 client over urllib                   rpc-client/src/api.rs

Bodies are plain dicts in the same JSON shape the node and the golden
vectors use (docs/rpc.md): camelCase field names everywhere (``periodStart``,
``deviceKey``, ``baselineTime``, ``chainId``, ``miningCapW``), energy in Wh
and power in W as decimal strings (``"amount": "500"``, ``"capacity":
"250000"``), heights, hours, ids, nonces and times as numbers,
e.g. ``{"type": "transfer", "to": "watt1...", "amount": "500", "vintages":
None}``. The encoders also take ints where the JSON has decimal strings, and
snake_case names (``period_start``) where the camelCase one is absent.

Dependencies: PyNaCl (ed25519) and blake3 (see requirements.txt).
"""

from __future__ import annotations

import datetime
import json
import re
import struct
import urllib.error
import urllib.request
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Optional

import blake3
import nacl.signing

# ---------------------------------------------------------------------------
# bech32m (BIP-350) for account ids: hrp "watt", data = the 32-byte key
# regrouped into 5-bit groups (padded), no witness version.
# ---------------------------------------------------------------------------

ACCOUNT_HRP = "watt"
_CHARSET = "qpzry9x8gf2tvdw0s3jn54khce6mua7l"
_BECH32M_CONST = 0x2BC830A3


def _polymod(values: Iterable[int]) -> int:
    gen = (0x3B6A57B2, 0x26508E6D, 0x1EA119FA, 0x3D4233DD, 0x2A1462B3)
    chk = 1
    for v in values:
        top = chk >> 25
        chk = (chk & 0x1FFFFFF) << 5 ^ v
        for i in range(5):
            if (top >> i) & 1:
                chk ^= gen[i]
    return chk


def _hrp_expand(hrp: str) -> list[int]:
    return [ord(c) >> 5 for c in hrp] + [0] + [ord(c) & 31 for c in hrp]


def _convertbits(data: Iterable[int], frombits: int, tobits: int, pad: bool) -> list[int]:
    acc, bits, out, maxv = 0, 0, [], (1 << tobits) - 1
    for value in data:
        if value < 0 or value >> frombits:
            raise ValueError("invalid value for bit conversion")
        acc = (acc << frombits) | value
        bits += frombits
        while bits >= tobits:
            bits -= tobits
            out.append((acc >> bits) & maxv)
    if pad:
        if bits:
            out.append((acc << (tobits - bits)) & maxv)
    elif bits >= frombits or ((acc << (tobits - bits)) & maxv):
        raise ValueError("invalid padding in bech32 data")
    return out


def bech32m_encode(hrp: str, data: bytes) -> str:
    five = _convertbits(data, 8, 5, True)
    polymod = _polymod(_hrp_expand(hrp) + five + [0] * 6) ^ _BECH32M_CONST
    checksum = [(polymod >> 5 * (5 - i)) & 31 for i in range(6)]
    return hrp + "1" + "".join(_CHARSET[d] for d in five + checksum)


def bech32m_decode(s: str) -> tuple[str, bytes]:
    """Returns (hrp, data bytes); raises ValueError on any defect."""
    if any(ord(c) < 33 or ord(c) > 126 for c in s):
        raise ValueError("bech32m string has characters outside 33..126")
    if s.lower() != s and s.upper() != s:
        raise ValueError("bech32m string mixes upper and lower case")
    s = s.lower()
    pos = s.rfind("1")
    if pos < 1 or pos + 7 > len(s) or len(s) > 90:
        raise ValueError("bech32m string has a bad separator position or length")
    hrp, rest = s[:pos], s[pos + 1:]
    if any(c not in _CHARSET for c in rest):
        raise ValueError("bech32m data has a character outside the charset")
    values = [_CHARSET.find(c) for c in rest]
    if _polymod(_hrp_expand(hrp) + values) != _BECH32M_CONST:
        raise ValueError("bad bech32m checksum (or a bech32, not bech32m, string)")
    return hrp, bytes(_convertbits(values[:-6], 5, 8, False))


def account_to_text(key: bytes) -> str:
    """A 32-byte public key as ``watt1...``."""
    if len(key) != 32:
        raise ValueError("an account id is 32 bytes")
    return bech32m_encode(ACCOUNT_HRP, key)


def account_from_text(s: str) -> bytes:
    """``watt1...`` (bech32m) or ``0x`` hex -> 32 bytes."""
    if s.startswith("0x"):
        return hex_bytes(s, 32)
    hrp, data = bech32m_decode(s)
    if hrp != ACCOUNT_HRP:
        raise ValueError(f"account prefix is {hrp!r}, expected {ACCOUNT_HRP!r}")
    if len(data) != 32:
        raise ValueError(f"account id decodes to {len(data)} bytes, expected 32")
    return data


# ---------------------------------------------------------------------------
# Primitive encoding (encoding.md section 1: borsh)
# ---------------------------------------------------------------------------

U32_MAX = 2**32 - 1


def hex_bytes(s: str, n: Optional[int] = None) -> bytes:
    if not isinstance(s, str) or not s.startswith("0x"):
        raise ValueError(f"expected 0x hex, got {s!r}")
    b = bytes.fromhex(s[2:])
    if n is not None and len(b) != n:
        raise ValueError(f"expected {n} bytes, got {len(b)}")
    return b


def to_hex(b: bytes) -> str:
    return "0x" + b.hex()


def _int(v: Any) -> int:
    """Amounts are decimal strings in JSON; plain ints are accepted too."""
    if isinstance(v, bool):
        raise ValueError("expected an integer, got a bool")
    if isinstance(v, int):
        return v
    if isinstance(v, str) and re.fullmatch(r"[0-9]+", v):
        return int(v)
    raise ValueError(f"expected an integer or decimal string, got {v!r}")


def _uint(fmt: str, bits: int) -> Callable[[Any], bytes]:
    def enc(v: Any) -> bytes:
        n = _int(v)
        if not 0 <= n < 2**bits:
            raise ValueError(f"{n} does not fit in u{bits}")
        return struct.pack(fmt, n)
    return enc


u8 = _uint("<B", 8)
u16 = _uint("<H", 16)
u32 = _uint("<I", 32)
u64 = _uint("<Q", 64)


def i128(v: Any) -> bytes:
    """A signed 128-bit integer: 16 bytes, little-endian two's complement.
    In JSON a decimal string with ``-`` when negative (``"-360"``)."""
    if isinstance(v, bool):
        raise ValueError("expected an integer, got a bool")
    if isinstance(v, str) and re.fullmatch(r"-?[0-9]+", v):
        v = int(v)
    if not isinstance(v, int):
        raise ValueError(f"expected an integer or signed decimal string, got {v!r}")
    if not -(2**127) <= v < 2**127:
        raise ValueError(f"{v} does not fit in i128")
    return v.to_bytes(16, "little", signed=True)


def boolean(v: bool) -> bytes:
    if not isinstance(v, bool):
        raise ValueError(f"expected a bool, got {v!r}")
    return b"\x01" if v else b"\x00"


def fixed(b: bytes, n: int) -> bytes:
    if len(b) != n:
        raise ValueError(f"expected {n} bytes, got {len(b)}")
    return bytes(b)


def byte_string(b: bytes, max_len: int = U32_MAX) -> bytes:
    if len(b) > max_len:
        raise ValueError(f"{len(b)} bytes exceed the bound {max_len}")
    return u32(len(b)) + bytes(b)


def text(s: str, max_len: int = U32_MAX) -> bytes:
    if any(ord(c) < 0x20 or 0x7F <= ord(c) < 0xA0 for c in s):
        raise ValueError(f"text {s!r} has control characters")
    return byte_string(s.encode("utf-8"), max_len)


def vec(items: Iterable[Any], enc: Callable[[Any], bytes], max_len: int = U32_MAX) -> bytes:
    items = list(items)
    if len(items) > max_len:
        raise ValueError(f"{len(items)} items exceed the bound {max_len}")
    return u32(len(items)) + b"".join(enc(i) for i in items)


def option(v: Any, enc: Callable[[Any], bytes]) -> bytes:
    return b"\x00" if v is None else b"\x01" + enc(v)


def enum(tag: int, payload: bytes = b"") -> bytes:
    return u8(tag) + payload


# ---------------------------------------------------------------------------
# Domain types (section 2)
# ---------------------------------------------------------------------------

def hash32(v: Any) -> bytes:
    return v if isinstance(v, bytes) and len(v) == 32 else hex_bytes(v, 32)


def public_key(v: Any) -> bytes:
    return hash32(v)


def signature(v: Any) -> bytes:
    return v if isinstance(v, bytes) and len(v) == 64 else hex_bytes(v, 64)


def account(v: Any) -> bytes:
    """An AccountId: bytes, ``watt1...`` or ``0x`` hex."""
    if isinstance(v, bytes):
        return fixed(v, 32)
    return account_from_text(v)


_ZONE_RE = re.compile(r"[A-Z0-9-]{2,16}")


def zone_id(z: str) -> bytes:
    if not _ZONE_RE.fullmatch(z):
        raise ValueError(f"zone id {z!r} is not 2-16 bytes of A-Z 0-9 -")
    return text(z, 16)


def vintage(v: dict) -> bytes:
    return zone_id(v["zone"]) + u64(v["hour"])


def vintages(v: Optional[list]) -> bytes:
    return option(v, lambda xs: vec(xs, vintage, 256))


def _named(names: dict[str, int]) -> Callable[[Any], bytes]:
    """An enum without fields (Source, MatchingWindow, vote kind): a name or
    its index."""
    def enc(v: Any) -> bytes:
        if isinstance(v, int) and not isinstance(v, bool):
            return u8(v)
        key = re.sub(r"[-_ ]", "", str(v)).lower()
        if key not in names:
            raise ValueError(f"unknown variant {v!r}; expected one of {sorted(names)}")
        return u8(names[key])
    return enc


source = _named({"solar": 0, "wind": 1, "hydro": 2, "geothermal": 3, "biomass": 4,
                 "otherrenewable": 5})
matching_window = _named({"hour": 0, "day": 1, "month": 2, "year": 3})
vote_kind = _named({"prevote": 0, "precommit": 1})


def _camel(name: str) -> str:
    """``period_start`` -> ``periodStart``."""
    parts = name.split("_")
    return parts[0] + "".join(p.title() for p in parts[1:])


def _f(d: dict, name: str) -> Any:
    """A field by its camelCase JSON name (``periodStart``), the one form the
    node and the golden vectors use. ``name`` is given in snake_case; a dict
    written with the snake_case names is accepted too."""
    camel = _camel(name)
    if camel in d:
        return d[camel]
    if name in d:
        return d[name]
    raise KeyError(f"missing field {camel!r} in {sorted(d)}")


def zone_policy(p: dict) -> bytes:
    return (matching_window(_f(p, "matching_window")) + u64(_f(p, "mining_cap_w"))
            + u64(_f(p, "credit_lifetime_hours")) + u64(_f(p, "reading_max_age_s"))
            + u32(_f(p, "plausibility_tolerance_pct"))
            + u32(_f(p, "shortfall_penalty_permille")) + u64(_f(p, "dark_after_s")))


def chain_params(p: dict) -> bytes:
    return (u64(_f(p, "max_clock_skew_s")) + u64(_f(p, "proposal_expiry_blocks"))
            + u32(_f(p, "max_block_txs")) + u32(_f(p, "max_block_bytes"))
            + u32(_f(p, "max_readings_per_tx")) + u64(_f(p, "min_new_account_wh"))
            + u64(_f(p, "settlement_grace_s")))


# ---------------------------------------------------------------------------
# Hashing (section 3)
# ---------------------------------------------------------------------------

TAG_TX = "watt/tx/v1"
TAG_TX_ID = "watt/tx-id/v1"
TAG_HEADER = "watt/header/v1"
TAG_PROPOSAL = "watt/proposal/v1"
TAG_VOTE = "watt/vote/v1"
TAG_COMMIT = "watt/commit/v1"
TAG_GENERATION_READING = "watt/generation-reading/v1"
TAG_CONSUMPTION_READING = "watt/consumption-reading/v1"
TAG_PROOF_OF_POSSESSION = "watt/proof-of-possession/v1"
TAG_STATE_NODE = "watt/state-node/v1"
TAG_STATE_KEY = "watt/state-key/v1"
TAG_STATE_VALUE = "watt/state-value/v1"
TAG_GENESIS = "watt/genesis/v1"
TAG_TX_ROOT = "watt/tx-root/v1"
TAG_EVENT_ROOT = "watt/event-root/v1"
TAG_VALIDATOR_SET = "watt/validator-set/v1"
TAG_FEEDER_READING = "watt/feeder-reading/v1"
TAG_DECLARED_LOAD = "watt/declared-load/v1"
TAG_CURTAILMENT_ACK = "watt/curtailment-ack/v1"


def tagged_hash(tag: str, payload: bytes) -> bytes:
    """H(tag, payload) = blake3(len(tag) as one byte || tag || payload)."""
    t = tag.encode("ascii")
    return blake3.blake3(bytes([len(t)]) + t + payload).digest()


def signing_hash(tag: str, chain_id: bytes, payload: bytes) -> bytes:
    """For objects that do not carry the chain id (readings, proofs of
    possession): blake3(len(tag) || tag || chain_id || payload)."""
    return tagged_hash(tag, hash32(chain_id) + payload)


# ---------------------------------------------------------------------------
# Keys and signing (section 4)
# ---------------------------------------------------------------------------

class Key:
    """An ed25519 key from its 32-byte RFC 8032 seed."""

    def __init__(self, seed: bytes):
        self._sk = nacl.signing.SigningKey(fixed(seed, 32))
        self.public = bytes(self._sk.verify_key)

    @property
    def account(self) -> str:
        return account_to_text(self.public)

    def sign(self, message32: bytes) -> bytes:
        """Signs a 32-byte signing hash; returns the 64-byte R || S."""
        return self._sk.sign(fixed(message32, 32)).signature


def dev_key(name: str) -> Key:
    """The dev chain's public, deterministic keys:
    seed = blake3("watt-dev-key:" + name). Never use them on a real chain."""
    return Key(blake3.blake3(b"watt-dev-key:" + name.encode("utf-8")).digest())


def verify(public: bytes, message32: bytes, sig: bytes) -> bool:
    try:
        nacl.signing.VerifyKey(public).verify(message32, sig)
        return True
    except Exception:
        return False


# ---------------------------------------------------------------------------
# Readings (section 6), proof of possession (section 8)
# ---------------------------------------------------------------------------

def _reading(id_field: str) -> Callable[[dict], bytes]:
    def enc(r: dict) -> bytes:
        return (u64(r[id_field]) + u64(r["sequence"]) + u64(_f(r, "period_start"))
                + u64(_f(r, "period_end")) + u64(r["counter"]) + u8(r["flags"]))
    return enc


generation_reading = _reading("meter")
consumption_reading = _reading("site")


def signed_generation_reading(s: dict) -> bytes:
    return generation_reading(s["reading"]) + signature(s["signature"])


def signed_consumption_reading(s: dict) -> bytes:
    return consumption_reading(s["reading"]) + signature(s["signature"])


def sign_reading(key: Key, chain_id: bytes, reading: dict, consumption: bool = False) -> dict:
    enc = consumption_reading if consumption else generation_reading
    tag = TAG_CONSUMPTION_READING if consumption else TAG_GENERATION_READING
    h = signing_hash(tag, chain_id, enc(reading))
    return {"reading": reading, "signature": to_hex(key.sign(h))}


def proof_of_possession_payload(operator: Any, consensus_key: Any) -> bytes:
    return account(operator) + public_key(consensus_key)


def proof_of_possession(proof: dict) -> bytes:
    # Not spelled out in encoding.md; the vectors show it is the bare
    # 64-byte signature.
    return signature(proof["signature"])


def sign_proof_of_possession(consensus: Key, chain_id: bytes, operator: Any) -> dict:
    h = signing_hash(TAG_PROOF_OF_POSSESSION, chain_id,
                     proof_of_possession_payload(operator, consensus.public))
    return {"signature": to_hex(consensus.sign(h))}


# ---------------------------------------------------------------------------
# Feeders (sections 5 and 6; docs/protocol.md section 17). Their JSON
# follows the convention of docs/rpc.md: camelCase fields, Wh and W as
# decimal strings.
# ---------------------------------------------------------------------------

FEEDER_ID_MAX = 24
_FEEDER_RE = re.compile(r"[A-Z0-9/-]{2,24}")


def feeder_id(f: str) -> bytes:
    """A FeederId: text of 2 to 24 bytes of A-Z 0-9 - /, e.g. ``RU-BU/F12``."""
    if not isinstance(f, str) or not _FEEDER_RE.fullmatch(f):
        raise ValueError(f"feeder id {f!r} is not 2-24 bytes of A-Z 0-9 - /")
    return text(f, FEEDER_ID_MAX)


def feeder_id_padded(f: str) -> bytes:
    """The id zero-padded on the right to 24 bytes, as in state keys."""
    feeder_id(f)
    return f.encode("ascii").ljust(FEEDER_ID_MAX, b"\x00")


def attachee(d: dict) -> bytes:
    """Attachee: ``{"meter": 1}`` (tag 0) or ``{"site": 1}`` (tag 1)."""
    if len(d) != 1 or not ({"meter", "site"} & set(d)):
        raise ValueError(f"expected {{'meter': id}} or {{'site': id}}, got {d!r}")
    return enum(0, u64(d["meter"])) if "meter" in d else enum(1, u64(d["site"]))


def new_feeder(f: dict) -> bytes:
    return (feeder_id(f["id"]) + zone_id(f["zone"]) + u64(_f(f, "rated_capacity"))
            + u16(_f(f, "loss_permille")) + u64(_f(f, "alert_floor"))
            + u16(_f(f, "alert_hours")) + u16(_f(f, "mining_share_permille"))
            + public_key(_f(f, "head_key")) + u64(_f(f, "baseline_time"))
            + u64(_f(f, "baseline_import")) + u64(_f(f, "baseline_export"))
            + option(_f(f, "declared_key"), public_key))


def feeder_reading(r: dict) -> bytes:
    """FeederReading, what a feeder's head meter signs."""
    return (feeder_id(r["feeder"]) + u64(r["sequence"]) + u64(_f(r, "period_start"))
            + u64(_f(r, "period_end")) + u64(r["import"]) + u64(r["export"]) + u8(r["flags"]))


def declared_load(d: dict) -> bytes:
    """DeclaredLoad, what the distribution operator's declared-load key signs."""
    return feeder_id(d["feeder"]) + u64(d["hour"]) + u64(d["energy"])


def signed_feeder_reading(s: dict) -> bytes:
    return feeder_reading(s["reading"]) + signature(s["signature"])


def signed_declared_load(s: dict) -> bytes:
    return declared_load(s["reading"]) + signature(s["signature"])


def feeder_reading_signing_hash(chain_id: bytes, reading: dict) -> bytes:
    return signing_hash(TAG_FEEDER_READING, chain_id, feeder_reading(reading))


def declared_load_signing_hash(chain_id: bytes, load: dict) -> bytes:
    return signing_hash(TAG_DECLARED_LOAD, chain_id, declared_load(load))


def sign_feeder_reading(head: Key, chain_id: bytes, reading: dict) -> dict:
    """Signs with the feeder's head meter key; returns a ``Signed`` dict for
    a ``submitFeederReadings`` body."""
    return {"reading": reading,
            "signature": to_hex(head.sign(feeder_reading_signing_hash(chain_id, reading)))}


def sign_declared_load(declared: Key, chain_id: bytes, load: dict) -> dict:
    """Signs with the feeder's declared-load key; returns a ``Signed`` dict
    for a ``submitDeclaredLoad`` body."""
    return {"reading": load,
            "signature": to_hex(declared.sign(declared_load_signing_hash(chain_id, load)))}


# ---------------------------------------------------------------------------
# The sandbox (sections 5, 6, 9, 10; docs/protocol.md section 18): permits,
# curtailment orders and the owner's signed acknowledgement. JSON is
# camelCase (watts and Wh as decimal strings).
# ---------------------------------------------------------------------------

MAX_GRID_OPERATORS = 16
ALL_MONTHS = 0x0FFF
ALL_HOURS = 0x00FF_FFFF


def permit_terms(d: dict) -> bytes:
    """PermitTerms: maxPower (W), months (u16 mask, bit 0 = January),
    hours (u32 mask, bit 0 = 00:00 UTC), monthlyQuota (Wh), expires (unix
    seconds on a whole hour)."""
    return (u64(_f(d, "max_power")) + u16(d["months"]) + u32(d["hours"])
            + u64(_f(d, "monthly_quota")) + u64(d["expires"]))


def curtail_target(d: dict) -> bytes:
    """CurtailTarget: ``{"feeder": "DEV-1/NORTH"}`` (tag 0) or
    ``{"zone": "DEV-1"}`` (tag 1)."""
    if not isinstance(d, dict) or len(d) != 1 or not ({"feeder", "zone"} & set(d)):
        raise ValueError(f"expected {{'feeder': id}} or {{'zone': id}}, got {d!r}")
    return enum(0, feeder_id(d["feeder"])) if "feeder" in d else enum(1, zone_id(d["zone"]))


def curtailment_ack(a: dict) -> bytes:
    """CurtailmentAck, what a site's owner signs: order, site, seenAt."""
    return u64(a["order"]) + u64(a["site"]) + u64(_f(a, "seen_at"))


def signed_curtailment_ack(s: dict) -> bytes:
    return curtailment_ack(s["reading"]) + signature(s["signature"])


def curtailment_ack_signing_hash(chain_id: bytes, ack: dict) -> bytes:
    return signing_hash(TAG_CURTAILMENT_ACK, chain_id, curtailment_ack(ack))


def sign_curtailment_ack(owner: Key, chain_id: bytes, ack: dict) -> dict:
    """Signs with the site OWNER's account key; returns a ``Signed`` dict
    (``{"reading": ack, "signature": "0x.."}``) for an ``ackCurtailment``
    body's ``ack``."""
    return {"reading": ack,
            "signature": to_hex(owner.sign(curtailment_ack_signing_hash(chain_id, ack)))}


# ---------------------------------------------------------------------------
# Consensus objects (section 7), used by Evidence and by check_vectors.py
# ---------------------------------------------------------------------------

def vote(v: dict) -> bytes:
    return (vote_kind(_f(v, "kind")) + hash32(_f(v, "chain_id")) + u64(_f(v, "height"))
            + u32(_f(v, "round")) + option(_f(v, "block_hash"), hash32)
            + public_key(_f(v, "validator")))


def signed_vote(s: dict) -> bytes:
    return vote(s["vote"]) + signature(s["signature"])


def proposal(p: dict) -> bytes:
    return (hash32(_f(p, "chain_id")) + u64(_f(p, "height")) + u32(_f(p, "round"))
            + option(_f(p, "valid_round"), u32) + hash32(_f(p, "block_hash"))
            + public_key(_f(p, "proposer")))


def header(h: dict) -> bytes:
    return (hash32(_f(h, "chain_id")) + u64(_f(h, "height")) + hash32(_f(h, "parent_hash"))
            + u64(_f(h, "timestamp_ms")) + public_key(_f(h, "proposer"))
            + hash32(_f(h, "tx_root")) + hash32(_f(h, "state_root"))
            + hash32(_f(h, "event_root")) + hash32(_f(h, "validator_set_hash"))
            + hash32(_f(h, "next_validator_set_hash")) + hash32(_f(h, "parent_commit_hash")))


def validator(v: dict) -> bytes:
    return public_key(_f(v, "consensus_key")) + account(_f(v, "operator")) + text(_f(v, "name"), 64)


def validator_set(vs: list) -> bytes:
    return vec(vs, validator, 256)


def _signers(v: Any) -> bytes:
    """A commit certificate's signer bitmap (encoding.md section 7): ``0x``
    hex in JSON (``"0x0d"``); bytes or a list of byte values are accepted
    too."""
    if isinstance(v, str):
        return hex_bytes(v)
    return bytes(v)


def commit_certificate(c: dict) -> bytes:
    return (u64(_f(c, "height")) + u32(_f(c, "round")) + hash32(_f(c, "block_hash"))
            + hash32(_f(c, "validator_set_hash"))
            + byte_string(_signers(_f(c, "signers")))
            + vec(_f(c, "signatures"), signature))


# ---------------------------------------------------------------------------
# Genesis (section 8)
# ---------------------------------------------------------------------------

def genesis_meter(m: dict) -> bytes:
    return (text(m["serial"], 64) + public_key(_f(m, "device_key")) + account(m["owner"])
            + account(m["operator"]) + source(m["source"]) + u64(m["capacity"])
            + zone_id(m["zone"]) + u64(_f(m, "baseline_time"))
            + u64(_f(m, "baseline_counter")))


def genesis_site(s: dict) -> bytes:
    return (text(s["serial"], 64) + public_key(_f(s, "device_key")) + account(s["owner"])
            + zone_id(s["zone"]) + u64(_f(s, "max_draw")) + u64(_f(s, "baseline_time"))
            + u64(_f(s, "baseline_counter")))


def genesis(g: dict) -> bytes:
    cont = g.get("continues")
    return (text(_f(g, "chain_name"), 64) + u64(_f(g, "genesis_time_ms"))
            + chain_params(g["params"])
            + validator_set(g["authorities"]) + vec(g["regulators"], account)
            + vec(g["zones"], lambda zp: zone_id(zp[0]) + zone_policy(zp[1]))
            + vec(g["meters"], genesis_meter) + vec(g["sites"], genesis_site)
            + option(cont, lambda c: hash32(_f(c, "chain_id")) + u64(c["height"])
                     + hash32(_f(c, "state_root"))))


# ---------------------------------------------------------------------------
# State (section 9): the account entry
# ---------------------------------------------------------------------------

def account_state_key(acct: Any) -> bytes:
    return b"\x01" + account(acct)


def account_value(nonce: int, holdings: list) -> bytes:
    """Account { nonce: u64, holdings: map<Vintage, u64> }. holdings is a
    list of {"vintage": {zone, hour}, "amount"}. Map keys go in ascending
    *logical* order (zone text, then hour as a number), which is not the
    order of their encoded bytes (length prefix first, hour little-endian);
    encoding.md does not say which (a gap in the doc)."""
    items = sorted(holdings, key=lambda h: (h["vintage"]["zone"].encode(), _int(h["vintage"]["hour"])))
    keys = [(h["vintage"]["zone"], _int(h["vintage"]["hour"])) for h in items]
    if len(set(keys)) != len(keys):
        raise ValueError("repeated vintage in holdings")
    return u64(nonce) + vec(items, lambda h: vintage(h["vintage"]) + u64(h["amount"]))


# The feeder tables (section 9): keys are a table byte and fixed-width
# big-endian fields, the feeder id zero-padded to 24 bytes.

def _be64(v: Any) -> bytes:
    n = _int(v)
    if not 0 <= n < 2**64:
        raise ValueError(f"{n} does not fit in u64")
    return struct.pack(">Q", n)


def feeder_state_key(feeder: str) -> bytes:
    return b"\x10" + feeder_id_padded(feeder)


def feeder_hour_state_key(feeder: str, hour: Any) -> bytes:
    return b"\x11" + feeder_id_padded(feeder) + _be64(hour)


def feeder_due_state_key(close_after_s: Any, feeder: str) -> bytes:
    return b"\x12" + _be64(close_after_s) + feeder_id_padded(feeder)


def attachment_state_key(device: dict, from_hour: Any) -> bytes:
    if len(device) != 1 or not ({"meter", "site"} & set(device)):
        raise ValueError(f"expected {{'meter': id}} or {{'site': id}}, got {device!r}")
    kind, ident = (b"\x00", device["meter"]) if "meter" in device else (b"\x01", device["site"])
    return b"\x13" + kind + _be64(ident) + _be64(from_hour)


def feeder_balance_state_key(feeder: str, hour: Any) -> bytes:
    return b"\x14" + feeder_id_padded(feeder) + _be64(hour)


def open_alert_state_key(feeder: str) -> bytes:
    return b"\x15" + feeder_id_padded(feeder)


def feeder_count_state_key() -> bytes:
    return b"\x16"


def closed_hour_value(h: dict) -> bytes:
    """The ClosedHour state value: a closed hour's figures and verdict."""
    return (u64(h["import"]) + u64(h["export"]) + u64(h["generation"]) + u64(h["consumption"])
            + u64(h["declared"]) + u64(h["allowance"]) + i128(h["unexplained"])
            + _BALANCE_STATUS(h["status"]))


def feeder_value(f: dict) -> bytes:
    """The Feeder state value."""
    def alert(a: dict) -> bytes:
        return (u64(_f(a, "from_hour")) + u64(_f(a, "through_hour")) + u32(a["hours"])
                + u64(a["unexplained"]))
    return (feeder_id(f["id"]) + zone_id(f["zone"]) + u64(_f(f, "rated_capacity"))
            + u16(_f(f, "loss_permille")) + u64(_f(f, "alert_floor"))
            + u16(_f(f, "alert_hours")) + u16(_f(f, "mining_share_permille"))
            + public_key(_f(f, "head_key")) + option(_f(f, "declared_key"), public_key)
            + u64(_f(f, "head_sequence")) + u64(_f(f, "head_last_end"))
            + u64(_f(f, "head_import")) + u64(_f(f, "head_export")) + u64(_f(f, "open_from"))
            + u32(f["run"]) + u64(_f(f, "run_from")) + u64(_f(f, "run_energy"))
            + option(f["alert"], alert) + u64(_f(f, "registered_ms")))


def feeder_hour_value(h: dict) -> bytes:
    """The FeederHour state value: an open hour's accumulators."""
    return (u64(h["import"]) + u64(h["export"]) + u64(h["generation"]) + u64(h["consumption"])
            + option(h["declared"], u64) + u32(_f(h, "head_seconds"))
            + boolean(_f(h, "counter_down")))


# The sandbox tables (section 9), 0x17 to 0x20: a zone id zero-padded to 16
# bytes, a feeder id to 24, sites, orders, months and times as big-endian
# u64.

ZONE_ID_MAX = 16


def zone_id_padded(z: str) -> bytes:
    """The zone id zero-padded on the right to 16 bytes, as in state keys."""
    zone_id(z)
    return z.encode("ascii").ljust(ZONE_ID_MAX, b"\x00")


def utc_month(hour: Any) -> int:
    """The index of a UTC month, ``year x 12 + month - 1``, of an hour (unix
    seconds / 3600): the month a reading's usage counts in."""
    t = datetime.datetime.fromtimestamp(_int(hour) * 3600, datetime.timezone.utc)
    return t.year * 12 + t.month - 1


def zone_sandbox_state_key(zone: str) -> bytes:
    return b"\x17" + zone_id_padded(zone)


def permit_state_key(site: Any) -> bytes:
    return b"\x18" + _be64(site)


def feeder_permit_state_key(feeder: str, site: Any) -> bytes:
    return b"\x19" + feeder_id_padded(feeder) + _be64(site)


def permit_usage_state_key(site: Any, month: Any) -> bytes:
    """``month`` is a :func:`utc_month` index."""
    return b"\x1a" + _be64(site) + _be64(month)


def order_state_key(order: Any) -> bytes:
    return b"\x1b" + _be64(order)


def order_site_state_key(order: Any, site: Any) -> bytes:
    return b"\x1c" + _be64(order) + _be64(site)


def pending_order_state_key(zone: str, order: Any) -> bytes:
    return b"\x1d" + zone_id_padded(zone) + _be64(order)


def order_due_state_key(judge_after_s: Any, order: Any) -> bytes:
    return b"\x1e" + _be64(judge_after_s) + _be64(order)


def order_count_state_key() -> bytes:
    return b"\x1f"


def feeder_site_state_key(feeder: str, site: Any) -> bytes:
    return b"\x20" + feeder_id_padded(feeder) + _be64(site)


def zone_sandbox_value(z: dict) -> bytes:
    """The ZoneSandbox state value: permitsFrom (an hour or None), the
    grid operators."""
    return option(_f(z, "permits_from"), u64) + vec(_f(z, "grid_operators"), account)


def permit_value(p: dict) -> bytes:
    """The Permit state value."""
    return (u64(p["site"]) + feeder_id(p["feeder"]) + permit_terms(p["terms"])
            + u64(_f(p, "issued_ms")) + option(p["revoked"], lambda r: text(r, 256)))


def _site_share(s: dict) -> bytes:
    """``{"site": 1, "shareW": "20002"}`` -> (SiteId, Watts)."""
    return u64(s["site"]) + u64(s["shareW"] if "shareW" in s else s["share"])


def _watts_w(d: dict, name: str) -> Any:
    """A watts field whose JSON name ends in ``W`` (``maxMiningW``,
    ``shareW``), or its plain name."""
    parts = name.split("_")
    w = parts[0] + "".join(p.title() for p in parts[1:]) + "W"
    return d[w] if w in d else _f(d, name)


def curtailment_value(c: dict) -> bytes:
    """The Curtailment state value (an order). Its number may be named
    ``id`` or ``order``."""
    return (u64(c["id"] if "id" in c else c["order"]) + curtail_target(c["target"])
            + zone_id(c["zone"]) + account(c["issuer"]) + u64(c["start"]) + u64(c["end"])
            + u64(_watts_w(c, "max_mining")) + option(_f(c, "cancelled_at"), u64)
            + vec(c["shares"], _site_share) + boolean(c["judged"]) + u64(_f(c, "ordered_ms")))


def verdict_value(v: dict) -> bytes:
    return u64(v["used"]) + u64(v["allowed"]) + boolean(v["reported"]) + boolean(v["honoured"])


def order_site_value(o: dict) -> bytes:
    """The OrderSite state value: an affected site's share, use, ack and
    verdict."""
    return (u64(_watts_w(o, "share")) + u64(o["used"]) + option(_f(o, "acked_at"), u64)
            + option(o["verdict"], verdict_value))


def pending_window_value(w: dict) -> bytes:
    """The PendingOrder state value: the window [start, end)."""
    return u64(w["start"]) + u64(w["end"])


# ---------------------------------------------------------------------------
# Events (section 10): violations (tag 9), the feeder events (tags 34 to 43)
# and the sandbox events (tags 44 to 50)
# ---------------------------------------------------------------------------

_BALANCE_STATUS = _named({"balanced": 0, "unexplained": 1, "negative": 2, "unmetered": 3})

violation_kind = _named({"overdraw": 0, "counterwentdown": 1, "flagged": 2, "periodgap": 3,
                         "multihour": 4, "unbacked": 5, "permitbreach": 6,
                         "curtailmentbreach": 7})

# JSON kind -> (tag, encoder of the fields)
EVENTS: dict[str, tuple[int, Callable[[dict], bytes]]] = {
    # The detail is an unbounded string (u32 length, UTF-8).
    "violation": (9, lambda e: u64(e["site"]) + violation_kind(e["violation"])
                  + option(e["sequence"], u64) + byte_string(e["detail"].encode("utf-8"))),
    "feederRegistered": (34, lambda e: feeder_id(e["feeder"]) + zone_id(e["zone"])
                         + u64(_f(e, "rated_capacity")) + u64(_f(e, "first_hour"))),
    "feederAttached": (35, lambda e: attachee(e["device"]) + feeder_id(e["feeder"])
                       + u64(_f(e, "from_hour"))),
    "feederMeterResynced": (36, lambda e: feeder_id(e["feeder"]) + u64(_f(e, "baseline_time"))),
    "feederCounterWentDown": (37, lambda e: feeder_id(e["feeder"]) + u64(e["sequence"])
                              + text(e["counter"], 256)),
    "feederBalance": (38, lambda e: feeder_id(e["feeder"]) + u64(e["hour"]) + u64(e["import"])
                      + u64(e["export"]) + u64(e["generation"]) + u64(e["consumption"])
                      + u64(e["declared"]) + u64(e["allowance"]) + i128(e["unexplained"])
                      + _BALANCE_STATUS(e["status"])),
    "unexplainedLoad": (39, lambda e: feeder_id(e["feeder"]) + u64(_f(e, "from_hour"))
                        + u64(_f(e, "through_hour")) + u32(e["hours"]) + u64(e["unexplained"])),
    "feederAlertCleared": (40, lambda e: feeder_id(e["feeder"]) + u64(_f(e, "from_hour"))
                           + u64(_f(e, "through_hour")) + text(e["reason"], 256)),
    "feederOverload": (41, lambda e: feeder_id(e["feeder"]) + u64(e["hour"]) + u64(e["import"])
                       + u64(e["consumption"]) + u64(e["capacity"])),
    "lateFeederConsumption": (42, lambda e: feeder_id(e["feeder"]) + u64(e["site"])
                              + u64(e["hour"]) + u64(e["amount"])),
    "lateFeederGeneration": (43, lambda e: feeder_id(e["feeder"]) + u64(e["meter"])
                             + u64(e["hour"]) + u64(e["amount"])),
    "zoneSandboxSet": (44, lambda e: zone_id(e["zone"]) + option(_f(e, "permits_from"), u64)
                       + vec(_f(e, "grid_operators"), account)),
    "permitIssued": (45, lambda e: u64(e["site"]) + feeder_id(e["feeder"])
                     + permit_terms(e["terms"])),
    "permitRevoked": (46, lambda e: u64(e["site"]) + text(e["reason"], 256)),
    "curtailmentOrdered": (47, lambda e: u64(e["order"]) + curtail_target(e["target"])
                           + zone_id(e["zone"]) + u64(e["start"]) + u64(e["end"])
                           + u64(_watts_w(e, "max_mining")) + vec(e["shares"], _site_share)),
    "curtailmentCancelled": (48, lambda e: u64(e["order"]) + u64(e["at"])
                             + boolean(e["judged"])),
    "curtailmentAcknowledged": (49, lambda e: u64(e["order"]) + u64(e["site"])
                                + u64(_f(e, "seen_at"))),
    "curtailmentVerdict": (50, lambda e: u64(e["order"]) + u64(e["site"])
                           + u64(_watts_w(e, "share")) + u64(e["start"]) + u64(e["end"])
                           + u64(e["used"]) + u64(e["allowed"]) + boolean(e["reported"])
                           + boolean(e["honoured"])),
}


def event(e: dict) -> bytes:
    """An Event. Only the violation (tag 9), the feeder events (tags 34 to
    43) and the sandbox events (tags 44 to 50) are implemented."""
    kind = e.get("kind")
    if kind not in EVENTS:
        raise ValueError(f"event kind {kind!r} is not implemented here")
    tag, enc = EVENTS[kind]
    return enum(tag, enc(e))


def event_record(r: dict) -> bytes:
    """EventRecord = tx_index: Option<u32>, event: Event."""
    return option(_f(r, "tx_index"), u32) + event(r["event"])


def merkle_root(tag: str, leaves: list) -> bytes:
    """Section 7's binary Merkle root: pairs (l, r) become H(tag, 0x01 || l
    || r), an odd last node moves up unchanged; no leaves give 32 zero bytes."""
    level = list(leaves)
    if not level:
        return bytes(32)
    while len(level) > 1:
        nxt = [tagged_hash(tag, b"\x01" + level[i] + level[i + 1])
               for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            nxt.append(level[-1])
        level = nxt
    return level[0]


def event_root(encoded_records: Iterable[bytes]) -> bytes:
    """The event root over encoded EventRecords, each hashed into a leaf
    H("watt/event-root/v1", 0x00 || record)."""
    return merkle_root(TAG_EVENT_ROOT,
                       [tagged_hash(TAG_EVENT_ROOT, b"\x00" + r) for r in encoded_records])


# ---------------------------------------------------------------------------
# Transaction bodies (section 5)
# ---------------------------------------------------------------------------

def _authority_change(c: dict) -> bytes:
    kind = c["kind"]
    if kind == "add":
        return enum(0, account(c["operator"]) + public_key(_f(c, "consensus_key"))
                    + text(c["name"], 64) + proof_of_possession(c["proof"]))
    if kind == "remove":
        return enum(1, account(c["operator"]))
    if kind == "rotate":
        return enum(2, account(c["operator"]) + public_key(_f(c, "consensus_key"))
                    + proof_of_possession(c["proof"]))
    raise ValueError(f"unknown authority change {kind!r}")


def _regulator_change(c: dict) -> bytes:
    tags = {"add": 0, "remove": 1}
    if c["kind"] not in tags:
        raise ValueError(f"unknown regulator change {c['kind']!r}")
    return enum(tags[c["kind"]], account(c["account"]))


def _site_reason(b: dict) -> bytes:
    return u64(b["site"]) + text(b["reason"], 256)


# JSON type name -> (tag, encoder of the fields)
BODIES: dict[str, tuple[int, Callable[[dict], bytes]]] = {
    "transfer": (0, lambda b: account(b["to"]) + u64(b["amount"]) + vintages(b.get("vintages"))),
    "retire": (1, lambda b: u64(b["amount"]) + text(b["beneficiary"], 256)
               + text(b["purpose"], 256) + vintages(b.get("vintages"))),
    "registerMeter": (2, lambda b: text(b["serial"], 64) + public_key(_f(b, "device_key"))
                      + account(b["owner"]) + source(b["source"]) + u64(b["capacity"])
                      + zone_id(b["zone"]) + u64(_f(b, "baseline_time"))
                      + u64(_f(b, "baseline_counter"))),
    "approveMeter": (3, lambda b: u64(b["meter"])),
    "submitReadings": (4, lambda b: vec(b["readings"], signed_generation_reading, 1024)),
    "replaceMeterKey": (5, lambda b: u64(b["meter"]) + public_key(_f(b, "new_device_key"))
                        + u64(_f(b, "baseline_time")) + u64(_f(b, "baseline_counter"))),
    "resyncMeter": (6, lambda b: u64(b["meter"]) + u64(_f(b, "baseline_time"))
                    + u64(_f(b, "baseline_counter"))),
    "transferMeterOperator": (7, lambda b: u64(b["meter"]) + account(_f(b, "new_operator"))),
    "revokeMeter": (8, lambda b: u64(b["meter"]) + text(b["reason"], 256)),
    "registerSite": (9, lambda b: text(b["serial"], 64) + public_key(_f(b, "device_key"))
                     + account(b["owner"]) + zone_id(b["zone"]) + u64(_f(b, "max_draw"))
                     + u64(_f(b, "baseline_time")) + u64(_f(b, "baseline_counter"))),
    "submitConsumption": (10, lambda b: vec(b["readings"], signed_consumption_reading, 1024)),
    "settleShortfall": (11, lambda b: u64(b["site"]) + vintages(b.get("vintages"))),
    "setZonePolicy": (12, lambda b: zone_id(b["zone"]) + zone_policy(b["policy"])),
    "suspendSite": (13, _site_reason),
    "reinstateSite": (14, _site_reason),
    "revokeSite": (15, _site_reason),
    "replaceSiteKey": (16, lambda b: u64(b["site"]) + public_key(_f(b, "new_device_key"))
                       + u64(_f(b, "baseline_time")) + u64(_f(b, "baseline_counter"))),
    "withdrawCredits": (17, lambda b: account(b["account"]) + vintage(b["vintage"])
                        + u64(b["amount"]) + text(b["reason"], 256)),
    "proposeAuthoritySet": (18, lambda b: _authority_change(b["change"])),
    "proposeRegulatorSet": (19, lambda b: _regulator_change(b["change"])),
    "proposeChainParams": (20, lambda b: chain_params(b["params"])),
    "vote": (21, lambda b: u64(b["proposal"]) + boolean(b["approve"])),
    "evidence": (22, lambda b: signed_vote(b["first"]) + signed_vote(b["second"])),
    # Feeders.
    "registerFeeder": (23, lambda b: new_feeder(b["feeder"])),
    "attachToFeeder": (24, lambda b: attachee(b["device"]) + feeder_id(b["feeder"])
                       + u64(_f(b, "from_hour"))),
    "submitFeederReadings": (25, lambda b: vec(b["readings"], signed_feeder_reading, 1024)),
    "submitDeclaredLoad": (26, lambda b: vec(b["loads"], signed_declared_load, 256)),
    "clearFeederAlert": (27, lambda b: feeder_id(b["feeder"]) + text(b["reason"], 256)),
    "resyncFeederMeter": (28, lambda b: feeder_id(b["feeder"]) + u64(_f(b, "baseline_time"))
                          + u64(_f(b, "baseline_import")) + u64(_f(b, "baseline_export"))),
    # The sandbox.
    "setZoneSandbox": (29, lambda b: zone_id(b["zone"]) + boolean(_f(b, "permits_required"))
                       + vec(_f(b, "grid_operators"), account, MAX_GRID_OPERATORS)),
    "issuePermit": (30, lambda b: u64(b["site"]) + permit_terms(b["terms"])),
    "revokePermit": (31, _site_reason),
    "curtail": (32, lambda b: curtail_target(b["target"]) + u64(b["start"]) + u64(b["end"])
                + u64(_watts_w(b, "max_mining"))),
    "cancelCurtailment": (33, lambda b: u64(b["order"])),
    "ackCurtailment": (34, lambda b: signed_curtailment_ack(b["ack"])),
}


def body(b: dict) -> bytes:
    kind = b.get("type")
    if kind not in BODIES:
        raise ValueError(f"unknown body type {kind!r}")
    tag, enc = BODIES[kind]
    return enum(tag, enc(b))


def transfer(to: Any, amount: int, vintage_list: Optional[list] = None) -> dict:
    return {"type": "transfer", "to": to, "amount": str(amount), "vintages": vintage_list}


def retire(amount: int, beneficiary: str, purpose: str, vintage_list: Optional[list] = None) -> dict:
    return {"type": "retire", "amount": str(amount), "beneficiary": beneficiary,
            "purpose": purpose, "vintages": vintage_list}


# ---------------------------------------------------------------------------
# Transactions (section 5)
# ---------------------------------------------------------------------------

def unsigned_tx(chain_id: Any, signer: Any, nonce: int, b: dict) -> bytes:
    return hash32(chain_id) + account(signer) + u64(nonce) + body(b)


@dataclass
class SignedTx:
    unsigned: bytes       # encode(UnsignedTx)
    signing_hash: bytes   # H("watt/tx/v1", unsigned)
    signature: bytes      # ed25519 over signing_hash
    encoded: bytes        # unsigned || signature: what tx_submit takes
    hash: bytes           # H("watt/tx-id/v1", encoded): the transaction id

    @property
    def hex(self) -> str:
        return to_hex(self.encoded)


def sign_tx(key: Key, chain_id: Any, nonce: int, b: dict) -> SignedTx:
    unsigned = unsigned_tx(chain_id, key.public, nonce, b)
    sh = tagged_hash(TAG_TX, unsigned)
    sig = key.sign(sh)
    encoded = unsigned + sig
    return SignedTx(unsigned, sh, sig, encoded, tagged_hash(TAG_TX_ID, encoded))


# ---------------------------------------------------------------------------
# JSON-RPC 2.0 over HTTP POST
# ---------------------------------------------------------------------------

class RpcError(Exception):
    """A JSON-RPC error object, or a transport failure (code None)."""

    def __init__(self, method: str, code: Optional[int], message: str,
                 reason: Optional[str] = None, data: Any = None):
        self.method, self.code, self.message, self.reason, self.data = (
            method, code, message, reason, data)
        text_ = f"{method}: "
        text_ += f"JSON-RPC error {code}: {message}" if code is not None else message
        if reason:
            text_ += f" (reason: {reason})"
        super().__init__(text_)


class Rpc:
    """``Rpc("http://127.0.0.1:9944").call("system_chainId")``."""

    def __init__(self, url: str, timeout: float = 10.0):
        self.url, self.timeout, self._id = url, timeout, 0

    def call(self, method: str, *params: Any) -> Any:
        self._id += 1
        req = json.dumps({"jsonrpc": "2.0", "id": self._id, "method": method,
                          "params": list(params)}).encode()
        http = urllib.request.Request(self.url, data=req, method="POST",
                                      headers={"Content-Type": "application/json"})
        try:
            with urllib.request.urlopen(http, timeout=self.timeout) as resp:
                raw = resp.read()
        except urllib.error.HTTPError as e:
            raw = e.read()
            if not raw.strip().startswith(b"{"):
                raise RpcError(method, None, f"HTTP {e.code} {e.reason}: {raw[:200]!r}") from e
        except (urllib.error.URLError, OSError) as e:
            raise RpcError(method, None, f"cannot reach {self.url}: {e}") from e
        try:
            msg = json.loads(raw)
        except ValueError as e:
            raise RpcError(method, None, f"response is not JSON: {raw[:200]!r}") from e
        if "error" in msg and msg["error"] is not None:
            err = msg["error"]
            data = err.get("data")
            reason = data.get("reason") if isinstance(data, dict) else (
                data if isinstance(data, str) else None)
            raise RpcError(method, err.get("code"), err.get("message", ""), reason, data)
        if "result" not in msg:
            raise RpcError(method, None, f"response has neither result nor error: {msg!r}")
        return msg["result"]

    # Convenience wrappers for the methods a wallet needs.
    def chain_id(self) -> bytes:
        return hex_bytes(self.call("system_chainId"), 32)

    def account(self, acct: str, at: Any = None) -> dict:
        return self.call("credits_getAccount", acct, *([at] if at is not None else []))

    def balance(self, acct: str, at: Any = None) -> dict:
        return self.call("credits_getBalance", acct, *([at] if at is not None else []))

    def submit(self, tx: SignedTx) -> str:
        return self.call("tx_submit", tx.hex)

    def receipt(self, tx_hash: str) -> Optional[dict]:
        return self.call("tx_getReceipt", tx_hash)

    def get_tx(self, tx_hash: str) -> Optional[dict]:
        return self.call("tx_get", tx_hash)
