"""Loading a policy document: YAML -> validated :class:`Policy`, errors naming the path and the value."""

from __future__ import annotations

from functools import cache
from importlib import resources
from pathlib import Path

import yaml
from pydantic import ValidationError

from callvault.errors import PolicyInvalid
from callvault.policy.model import Policy

DEFAULT_POLICY_FILE = "default.yaml"


def _path(loc: tuple[int | str, ...]) -> str:
    return ".".join(str(part) for part in loc) or "(document)"


def _cross_references(policy: Policy) -> list[str]:
    """Names used in one section must be declared in another."""
    problems = []
    for name, purpose in policy.purposes.items():
        for field in ("categories", "pseudonymise"):
            for index, key in enumerate(getattr(purpose, field)):
                if key not in policy.categories:
                    problems.append(
                        f"purposes.{name}.{field}.{index}: {key!r} is not a declared category"
                    )
    return problems


def parse_policy(text: str, *, source: str = "<policy>") -> Policy:
    """Validate a policy document given as YAML text."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = mark.line + 1 if mark is not None else None
        raise PolicyInvalid(f"{source}: not valid YAML: {exc}", line=line) from exc
    if not isinstance(data, dict):
        raise PolicyInvalid(f"{source}: a policy is a mapping with version, operator, ...")
    try:
        policy = Policy.model_validate(data)
    except ValidationError as exc:
        messages = [
            f"{_path(err['loc'])}: {err['msg']} (got {err.get('input')!r})"
            for err in exc.errors(include_url=False)
        ]
        raise PolicyInvalid(f"{source}: " + "; ".join(messages), errors=messages) from exc
    problems = _cross_references(policy)
    if problems:
        raise PolicyInvalid(f"{source}: " + "; ".join(problems), errors=problems)
    return policy


def load_policy(path: str | Path) -> Policy:
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise PolicyInvalid(f"cannot read policy {path}: {exc.strerror}") from exc
    return parse_policy(text, source=str(path))


def default_policy_text() -> str:
    return resources.files(__package__).joinpath(DEFAULT_POLICY_FILE).read_text(encoding="utf-8")


@cache
def default_policy() -> Policy:
    """The policy shipped with callvault, encoding spec/privacy-policy.txt in a lawful form."""
    return parse_policy(default_policy_text(), source="default policy")
