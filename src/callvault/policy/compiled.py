"""The policy compiled once into immutable lookup tables, so that a gate decision costs microseconds."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

from callvault.errors import InvalidInput, PolicyInvalid, PolicyRefusal
from callvault.policy.model import LEGAL_BASES, Policy, RetentionRule
from callvault.policy.periods import Period, parse_period


@dataclass(frozen=True, slots=True)
class CompiledPurpose:
    name: str
    legal_basis: str
    categories: frozenset[str]
    pseudonymise: frozenset[str]
    access: str
    output: str
    fingerprint: str  # hash of text, categories and basis: consent is bound to it (Art. 7(1))


def _purpose_fingerprint(name: str, policy: Policy) -> str:
    spec = policy.purposes[name]
    material = {"text": spec.text, "categories": sorted(spec.categories), "basis": spec.legal_basis}
    return hashlib.sha256(json.dumps(material, sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class CompiledPolicy:
    policy: Policy
    purposes: dict[str, CompiledPurpose]
    recipients: frozenset[str]
    retention: dict[str, RetentionRule]
    collectable: frozenset[str]  # categories some purpose uses (Art. 5(1)(c))
    digest: str

    @classmethod
    def compile(cls, policy: Policy) -> CompiledPolicy:
        purposes = {}
        for name, spec in policy.purposes.items():
            if spec.legal_basis not in LEGAL_BASES:
                raise PolicyInvalid(
                    f"purposes.{name}.legal_basis: {spec.legal_basis!r} is not a legal basis of "
                    f"GDPR Art. 6(1) ({', '.join(LEGAL_BASES)})"
                )
            purposes[name] = CompiledPurpose(
                name=name,
                legal_basis=spec.legal_basis,
                categories=frozenset(spec.categories),
                pseudonymise=frozenset(spec.pseudonymise),
                access=spec.access,
                output=spec.output,
                fingerprint=_purpose_fingerprint(name, policy),
            )
        collectable = frozenset(k for p in purposes.values() for k in p.categories)
        digest = hashlib.sha256(policy.model_dump_json().encode()).hexdigest()
        return cls(
            policy=policy,
            purposes=purposes,
            recipients=frozenset(policy.recipients),
            retention=dict(policy.retention),
            collectable=collectable,
            digest=digest,
        )

    @property
    def version(self) -> str:
        return self.policy.version

    def purposes_with(
        self, *, output: str | None = None, access: str | None = None
    ) -> list[CompiledPurpose]:
        """The purposes (by name) whose output and access are the given ones."""
        return [
            purpose
            for _, purpose in sorted(self.purposes.items())
            if (output is None or purpose.output == output)
            and (access is None or purpose.access == access)
        ]

    def sole_purpose(
        self,
        what: str,
        *,
        output: str | None = None,
        access: str | None = None,
        name: str | None = None,
    ) -> CompiledPurpose:
        """The one purpose of this output and access (or the one ``name``d among them).

        Code asks this instead of naming a purpose: renaming a purpose, or changing its basis, in the
        policy changes what the code does with it. PolicyRefusal when the policy has none (or several
        and no ``name``), so the operation has no purpose to rest on (Art. 5(1)(b)).
        """
        found = self.purposes_with(output=output, access=access)
        if name is not None:
            found = [p for p in found if p.name == name]
        if len(found) == 1:
            return found[0]
        if not found:
            raise PolicyRefusal(f"no purpose of the policy in force {what}")
        names = ", ".join(p.name for p in found)
        raise PolicyRefusal(f"several purposes of the policy in force {what} ({names}): name one")

    def check_collect(self, categories: list[str]) -> list[str]:
        """Validate a tenant's collection profile: declared categories some purpose uses."""
        for key in categories:
            if key not in self.policy.categories:
                raise InvalidInput(f"unknown category {key!r}", pointer="collect")
            if key not in self.collectable:
                raise InvalidInput(
                    f"category {key!r} is used by no purpose of the policy (Art. 5(1)(c))",
                    pointer="collect",
                )
        return sorted(set(categories))

    def check_retention_override(self, kind: str, period_text: str) -> Period:
        """A tenant may only shorten the policy's retention (Art. 28(3)(a): its instruction)."""
        rule = self.retention.get(kind)
        if rule is None:
            raise InvalidInput(
                f"unknown kind of record {kind!r} (policy has {', '.join(sorted(self.retention))})",
                pointer="retention",
            )
        if rule.legal_obligation:
            raise InvalidInput(
                f"{kind} is kept under a legal obligation ({rule.legal_obligation}); "
                "a tenant cannot change its period",
                pointer=f"retention.{kind}",
            )
        period = parse_period(period_text, field=f"retention.{kind}")
        limit = rule.period
        if limit is not None and not period <= limit:
            raise InvalidInput(
                f"{kind}={period} is longer than the policy's {limit}; a tenant may only shorten it",
                pointer=f"retention.{kind}",
            )
        return period
