"""When to try the hub again after a failure: exponential back-off with full jitter, capped.

Full jitter (a random wait between zero and the exponential bound) keeps a ward of PCs that lost
the network together from all retrying in the same second when it comes back."""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class Backoff:
    base_seconds: float = 2.0
    cap_seconds: float = 300.0
    failures: int = 0
    rng: random.Random = field(default_factory=random.Random)

    def failed(self) -> float:
        """Record a failure; the seconds to wait before the next try."""
        self.failures += 1
        bound = min(self.cap_seconds, self.base_seconds * 2 ** min(self.failures - 1, 30))
        return self.rng.uniform(0, bound)

    def succeeded(self) -> None:
        self.failures = 0
