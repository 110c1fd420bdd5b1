"""What a batch produces (rows by table) and what it changed (to rebuild once)."""

from __future__ import annotations

from dataclasses import dataclass, field, fields

from streams.domain.rows import Row

ALWAYS = -(2**62)  # a touch "at" this time may change any chain of the person (merges)


@dataclass
class Outputs:
    """Rows produced by one batch, by table."""

    touch_persons: list[Row] = field(default_factory=list)
    identity_merges: list[Row] = field(default_factory=list)
    identity_refusals: list[Row] = field(default_factory=list)
    opportunity_chains: list[Row] = field(default_factory=list)
    attribution_credit_sets: list[Row] = field(default_factory=list)
    relationships: list[Row] = field(default_factory=list)
    karma_ledger: list[Row] = field(default_factory=list)
    authenticity_flags: list[Row] = field(default_factory=list)

    def __len__(self) -> int:
        return sum(len(getattr(self, f.name)) for f in fields(self))

    def extend(self, other: Outputs) -> None:
        for f in fields(self):
            getattr(self, f.name).extend(getattr(other, f.name))


@dataclass
class Batch:
    """What a batch changed, so each chain is rebuilt once at its end."""

    out: Outputs
    emit: bool
    persons: dict[str, int] = field(default_factory=dict)  # -> earliest new touch
    accounts: set[str] = field(default_factory=set)  # new members
    opportunities: set[str] = field(default_factory=set)
    account_persons: set[str] = field(default_factory=set)  # current account to redo
    merged: list[tuple[str, str]] = field(default_factory=list)  # (from, into)
    karma_persons: set[str] = field(default_factory=set)  # returns may have changed
    rewrite: set[str] = field(default_factory=set)  # relationship rows to write again
    flagged_keys: set[str] = field(default_factory=set)  # ring/pod flags raised or lifted
    reweighted: set[int] = field(default_factory=set)  # hashes of touches weighing anew

    def touched(self, person: str, at: int) -> None:
        """Note a change to a person's journey from ``at`` on: chains whose
        version horizon is earlier cannot change and are not rebuilt."""
        self.persons[person] = min(at, self.persons.get(person, at))
