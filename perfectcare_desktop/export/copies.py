"""One function that lays out any variant of the person's copy (service.py and the batch's worker
processes both call it, so a variant is added in one place)."""

from __future__ import annotations

from .branding import Branding
from .fonts import FontSet
from .person import PersonCopy, render_person_copy
from .variants import EASY_READ, PERSON_VARIANTS, PHONE, WALLET_CARD


def render_copy(copy: PersonCopy, variant: str, fonts: FontSet, branding: Branding) -> bytes:
    if variant not in PERSON_VARIANTS:
        raise ValueError(f"not a variant of the person's copy: {variant!r}")
    if variant == WALLET_CARD:
        from .wallet import render_wallet_card

        return render_wallet_card(copy, fonts, branding)
    if variant == PHONE:
        from .phone import render_phone_copy

        return render_phone_copy(copy, fonts, branding)
    if variant == EASY_READ:
        from .easy_read import easy_read_story

        return render_person_copy(copy, variant, fonts, branding, easy_read_story(copy, fonts, branding))
    return render_person_copy(copy, variant, fonts, branding)
