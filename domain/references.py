"""Reading the values a definition names (`ValueRef`): where a licence's number comes from,
whose licence replaces a material.

A reference is `applicant.id`, `applicant.name` or `applicant.phone`, `form.<field>` or
`<step>.<result field>`. (Prefilling also knows `identity.<claim>` and
`licence.<licence type>.<field>`: see api.services.prefill.)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain.application import Applicant


def applicant_values(applicant: Applicant) -> dict[str, str]:
    return {
        "id": applicant.id_number or applicant.credit_code or "",
        "name": applicant.name,
        "phone": applicant.phone,
    }


def resolve(
    ref: str,
    *,
    applicant: Mapping[str, str],
    form: Mapping[str, Any],
    results: Mapping[str, Mapping[str, Any]],
) -> Any:
    """The value `ref` names, or None when the application holds none."""
    head, _, rest = ref.partition(".")
    if head == "applicant":
        return applicant.get(rest)
    if head == "form":
        return form.get(rest)
    return results.get(head, {}).get(rest)
