"""Which department owns which source (谁认定、谁修复), and who may write what."""

from __future__ import annotations

from services.common.auth import Principal

# The department that makes findings of each source; only it corrects, repairs or resolves
# objections against them.
SOURCE_OWNER: dict[str, str] = {
    "medical_procurement": "medical_insurance",
    "fire_products": "fire_rescue",
    "credit_service_agency": "credit_office",
    "hr_penalty": "hr_social_security",
}


def owner(source: str) -> str:
    return SOURCE_OWNER[source]


def is_admin(principal: Principal) -> bool:
    return "admin" in principal.roles


def may_write(principal: Principal, source: str) -> bool:
    """Departments write their own source only; admins may act for any."""
    if is_admin(principal):
        return True
    return "department" in principal.roles and principal.department == SOURCE_OWNER[source]

