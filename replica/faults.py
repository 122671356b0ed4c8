"""The hostile replica's fault plan: which path gets which fault, decided by hashing.

    plan = FaultPlan({"5xx": 0.05, "reset": 0.02}, seed=1)
    plan.request_fault("/xwzx/gyjj/202103/t20210315_6187593.html", article=True)
    plan.article_faults(path)     # (kinds touching the article, the kind that breaks it or None)

Every decision is a pure function of (seed, kind, path[, attempt]): a path is
hit by kind K when `unit(seed, K, path) < rate[K]`, so raising a rate only adds
paths and the same flags always give the same faults.  See docs/replica.md
("Hostile mode") for what each kind does and which are transient.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from replica.corpus import SEED_DAY, SEED_DOCID, SECTION
from replica.errors import ReplicaConfigError

# Answer faults, in precedence order: a path gets at most one of them.
REQUEST_KINDS = ("5xx", "429", "reset", "drop", "slow")
# Faults of an article page's content or routing (each decided on its own).
PAGE_KINDS = ("charset", "malformed", "redirect-loop", "oversize", "dupes", "offsite")
KINDS = REQUEST_KINDS + PAGE_KINDS + ("trap",)
# Request faults that may be persistent on article pages (429 is always transient).
PERSISTABLE = ("5xx", "reset", "drop", "slow")
PERSISTENT_SHARE = 0.25  # of an article's request-fault hits, this share fails every attempt
STATUS_5XX = (500, 502, 503)
DEFAULT_SLOW_SECONDS = 5.0
MAX_SLOW_SECONDS = 60.0
DEFAULT_OVERSIZE_BYTES = 3 * 1024 * 1024
SEED_PATH = f"{SECTION}{SEED_DAY:%Y%m}/t{SEED_DAY:%Y%m%d}_{SEED_DOCID}.html"


def parse_faults(specs: Iterable[str]) -> dict[str, float]:
    """Rates from `KIND=RATE` strings (comma lists allowed; `all=RATE` sets every kind).

    Later specs override earlier ones.  Raises ReplicaConfigError for unknown
    kinds or rates outside 0..1.
    """
    rates: dict[str, float] = {}
    for spec in specs:
        for part in filter(None, (p.strip() for p in spec.split(","))):
            kind, sep, value = part.partition("=")
            kind = kind.strip().lower()
            if not sep:
                raise ReplicaConfigError(f"a fault is KIND=RATE, e.g. 5xx=0.05, not {part!r}")
            try:
                rate = float(value)
            except ValueError:
                raise ReplicaConfigError(f"the rate of {kind} must be a number, not {value!r}") from None
            for name in KINDS if kind == "all" else (kind,):
                rates[name] = rate
    return check_rates(rates)


def check_rates(rates: Mapping[str, float]) -> dict[str, float]:
    """`rates` as a plain dict of KINDS, after checking kinds and ranges (ReplicaConfigError if bad).

    An "all" entry gives every kind its rate; the other entries override it.
    """
    out = {}
    if "all" in rates:
        rates = {kind: rates["all"] for kind in KINDS} | {k: v for k, v in rates.items() if k != "all"}
    for kind, rate in rates.items():
        if kind not in KINDS:
            raise ReplicaConfigError(f"unknown fault {kind!r}; known: {', '.join(KINDS)}")
        if not 0.0 <= float(rate) <= 1.0:
            raise ReplicaConfigError(f"the rate of {kind} must be between 0 and 1, not {rate}")
        out[kind] = float(rate)
    return out


def format_faults(rates: Mapping[str, float]) -> str:
    """`5xx=0.05 reset=0.02`: the non-zero rates in KINDS order."""
    return " ".join(f"{k}={rates[k]:g}" for k in KINDS if rates.get(k))


@dataclass(frozen=True)
class RequestFault:
    """An answer fault on one path: the first `failures` requests fail (None: every one)."""

    kind: str
    failures: int | None

    @property
    def persistent(self) -> bool:
        return self.failures is None

    def fails(self, attempt: int) -> bool:
        """Whether request number `attempt` (1 for the first) gets the fault."""
        return self.failures is None or attempt <= self.failures


class FaultPlan:
    """Rates, a seed and the knobs of the timing and size faults.

    `faults` maps kinds (see KINDS) to rates in 0..1; missing kinds are off.
    `slow_seconds` is how long a slow answer waits; `oversize_bytes` is the
    least size of an oversize body.  Raises ReplicaConfigError on bad values.
    """

    def __init__(
        self,
        faults: Mapping[str, float] | None = None,
        seed: int = 1,
        slow_seconds: float = DEFAULT_SLOW_SECONDS,
        oversize_bytes: int = DEFAULT_OVERSIZE_BYTES,
    ) -> None:
        self.rates = {kind: 0.0 for kind in KINDS} | check_rates(faults or {})
        self.seed = seed
        if not 0 <= slow_seconds <= MAX_SLOW_SECONDS:
            raise ReplicaConfigError(f"slow_seconds must be between 0 and {MAX_SLOW_SECONDS:g}, not {slow_seconds}")
        if oversize_bytes < 1024:
            raise ReplicaConfigError(f"oversize_bytes must be at least 1024, not {oversize_bytes}")
        self.slow_seconds, self.oversize_bytes = float(slow_seconds), int(oversize_bytes)

    @property
    def active(self) -> bool:
        """True when any rate is above zero (otherwise the site is the normal one)."""
        return any(self.rates.values())

    def unit(self, kind: str, path: str, salt: object = "") -> float:
        """A stable number in [0, 1) for (seed, kind, path, salt)."""
        key = f"{self.seed}\x00{kind}\x00{path}\x00{salt}".encode("utf-8", "surrogateescape")
        return int.from_bytes(hashlib.blake2b(key, digest_size=8).digest(), "big") / 2**64

    def pick(self, kind: str, path: str, salt: object, choices: tuple):
        """One of `choices`, chosen stably by (seed, kind, path, salt)."""
        return choices[int(self.unit(kind, path, salt) * len(choices))]

    def hits(self, kind: str, path: str) -> bool:
        """Whether `kind` is switched on for `path` (never for the seed article)."""
        rate = self.rates[kind]
        return rate > 0 and path != SEED_PATH and self.unit(kind, path) < rate

    def request_fault(self, path: str, article: bool) -> RequestFault | None:
        """The answer fault of `path`, if any.  Only article pages get persistent ones.

        A transient fault fails the first one or two requests (chosen per path);
        a persistent one (a PERSISTENT_SHARE of article hits, never 429) fails all.
        """
        for kind in REQUEST_KINDS:
            if self.hits(kind, path):
                roll = self.unit(kind, path, "attempts")
                if article and kind in PERSISTABLE and roll < PERSISTENT_SHARE:
                    return RequestFault(kind, None)
                return RequestFault(kind, 1 if roll < PERSISTENT_SHARE + (1 - PERSISTENT_SHARE) / 2 else 2)
        return None

    def status_5xx(self, path: str, attempt: int) -> int:
        """The status of a failing 5xx answer: 500, 502 or 503, by path and attempt."""
        return self.pick("5xx", path, f"status/{attempt}", STATUS_5XX)

    def loop_style(self, path: str) -> str:
        """How a redirect-loop article loops: "pingpong" (a → a?loop=1 → a) or "growing" (a → a?x=1 → a?x=2 …)."""
        return self.pick("redirect-loop", path, "style", ("pingpong", "growing"))

    def article_faults(self, path: str) -> tuple[list[str], str | None]:
        """(every kind that touches the article at `path`, the kind that makes it unarchivable or None).

        Unarchivable: a persistent answer fault, else redirect-loop, else oversize.
        Charset, malformed, dupes, offsite and transient answer faults leave it archivable.
        """
        kinds = [kind for kind in PAGE_KINDS if self.hits(kind, path)]
        request = self.request_fault(path, article=True)
        if request is not None:
            kinds.insert(0, request.kind)
        if request is not None and request.persistent:
            return kinds, request.kind
        for kind in ("redirect-loop", "oversize"):
            if kind in kinds:
                return kinds, kind
        return kinds, None

    def describe(self) -> dict:
        """The configuration as plain data (rates of enabled kinds, seed, knobs)."""
        return {
            "faults": {k: v for k, v in self.rates.items() if v},
            "fault_seed": self.seed,
            "slow_seconds": self.slow_seconds,
            "oversize_bytes": self.oversize_bytes,
            "persistent_share": PERSISTENT_SHARE,
        }
