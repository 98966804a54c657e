"""Properties of every variant of the person's copy, over generated plans (issue 14, "how it is checked").

Hypothesis writes plans with every kind of section (entries, contacts, means), empty sections and ones
discussed and set aside, very long entries (up to the 4,000-character limit, with and without spaces),
200 entries in a section, every script the fonts cover (Latin, Welsh, Polish, Urdu, Arabic) and emoji,
and each nation's numbers with as many trust-local crisis contacts as policy allows, as long as it
allows. Each plan is laid out in every variant, and each copy:
- is made (a PdfLayoutError, or a hang stopped by export/pages.py's limits, fails the test);
- has no type under the variant's minimum on any page (standard 10 pt, large print 14, easy read 16,
  wallet card 9, phone 19.5), header, footer and "checked on" line included;
- has every crisis number on page 1, read back with pypdf, 999 first, with the "checked on" date;
- never prints a means entry's method or where the means are, nor a reason a section was declined.
"""

from __future__ import annotations

import io
import re
from datetime import date

from hypothesis import HealthCheck, Phase, example, given, settings
from hypothesis import strategies as st
from pypdf import PdfReader

from perfectcare_desktop.core.clinical.crisis_directory import NATIONS, CrisisDirectory, load_directory
from perfectcare_desktop.core.clinical.plan_content import (
    DECLINED,
    NOT_APPLICABLE,
    PlanContent,
    SectionContent,
    person_view,
)
from perfectcare_desktop.core.clinical.plan_layout import load_catalogue
from perfectcare_desktop.core.clinical.wording import long_date
from perfectcare_desktop.export.branding import load_branding
from perfectcare_desktop.export.copies import render_copy
from perfectcare_desktop.export.fonts import load_fonts
from perfectcare_desktop.export.person import PersonCopy
from perfectcare_desktop.export.variants import PERSON_VARIANTS
from perfectcare_desktop.policy import MAX_LOCAL_CRISIS_CONTACTS as MAX_LOCAL_CONTACTS

LAYOUT = load_catalogue().for_record(None)
FONTS, BRANDING = load_fonts(), load_branding()
# Words a clinician writes in a means entry or a reason, that must never reach the person's copy. Each
# is one word, so pypdf's text (which may break lines anywhere between words) still holds it whole.
METHOD, ACCESS, REASON = "Zqmethodword", "Zqaccessword", "Zqreasonword"
MIN_SIZE = {"standard": 10, "large-print": 14, "easy-read": 16, "wallet-card": 9, "phone": 19.5}
NAMES = ["Jo", "عائشہ خان", "Gwenllian Prydderch-" * 5]

WORDS = {
    "latin": ["walk", "the", "dog", "call", "my", "sister", "brew", "music", "park", "shower", "sleep"],
    "welsh": ["Dw", "i'n", "teimlo'n", "unig", "ŵyl", "côr", "traeth", "ŷd", "gyda'r", "ci"],
    "polish": ["Zadzwonię", "do", "mamy", "spacer", "się", "źle", "żółw", "ąę"],
    "urdu": ["میں", "اپنی", "امی", "کو", "فون", "کروں", "گی", "چائے", "ہوں", "بہن"],
    "arabic": ["أتصل", "بأختي", "وأمشي", "في", "الحديقة"],
    "emoji": ["😔", "🎧", "🏴\U000e0067\U000e0062\U000e0077\U000e006c\U000e0073\U000e007f", "☕", "❤️"],
    "numbers": ["07700 900123", "0151 296 7200", "(sister)", "—", "3pm", "[ask]"],
}


@st.composite
def free_text(draw: st.DrawFn, max_words: int = 30) -> str:
    """A person's entry: words of one or more scripts, or at times one very long run."""
    shape = draw(st.sampled_from(["words", "words", "words", "long", "unbroken"]))
    if shape == "long":
        return " ".join(draw(st.lists(st.sampled_from(WORDS["latin"] + WORDS["urdu"]), min_size=600, max_size=650)))[
            :4000
        ]
    if shape == "unbroken":
        return draw(st.sampled_from(["a", "ب", "7"])) * draw(st.integers(200, 4000))
    scripts = draw(st.lists(st.sampled_from(sorted(WORDS)), min_size=1, max_size=3, unique=True))
    pool = [w for s in scripts for w in WORDS[s]]
    return " ".join(draw(st.lists(st.sampled_from(pool), min_size=1, max_size=max_words)))


@st.composite
def entry_for(draw: st.DrawFn, kind: str) -> dict[str, str]:
    if kind == "contacts":
        relationship = draw(st.sampled_from(["", "sister", "بہن", "ffrind"]))
        phone = draw(st.sampled_from(["07700 900123", "0113 496 0123", ""]))
        return {"name": draw(free_text(3)), "relationship": relationship, "phone": phone, "notes": draw(free_text(8))}
    if kind == "means":
        steps = draw(st.one_of(st.just(""), free_text(12)))
        return {"method": f"{METHOD} {draw(free_text(4))}", "access": f"{ACCESS} {draw(free_text(8))}",
                "steps": steps, "helper": draw(st.sampled_from(["", "Chris", "فاطمہ"]))}  # fmt: skip
    return {"text": draw(free_text())}


@st.composite
def plans(draw: st.DrawFn) -> PlanContent:
    content = PlanContent.blank(LAYOUT, load_directory().ref)
    crowded = draw(st.sampled_from([None, *[s.key for s in LAYOUT.sections]]))  # at times, 200 entries in one
    for section in LAYOUT.sections:
        shape = draw(st.sampled_from(["empty", "entries", "entries", "not_applicable", "declined"]))
        sc = SectionContent()
        if section.key == crowded:
            sc.entries = [{"text": f"Entry {n} walk the dog"} if section.kind == "entries" else
                          draw(entry_for(section.kind)) for n in range(200)]  # fmt: skip
        elif shape == "entries":
            sc.entries = draw(st.lists(entry_for(section.kind), min_size=1, max_size=5))
        elif shape != "empty":
            sc.state = NOT_APPLICABLE if shape == "not_applicable" else DECLINED
            sc.reason = f"{REASON} we agreed to come back to this"
        content.sections[section.key] = sc
    return content


def directory_with(local: int, nation: str) -> CrisisDirectory:
    """A nation's numbers and `local` trust entries as long as policy allows (policy.LOCAL_CONTACT_LIMITS)."""
    entries = [
        {"key": f"local{n}", "name": f"Local crisis team {n} " + "x" * (60 - 20), "how": f"Call 0800 000 00{n:02d}",
         "phone": f"0800 000 00{n:02d}", "when": "Evenings and weekends, " + "y" * (100 - 23)}
        for n in range(local)
    ]  # fmt: skip
    return load_directory(local_entries=entries or None, nation=nation)


def copy_of(content: PlanContent, directory: CrisisDirectory, name: str, draft: bool) -> PersonCopy:
    return PersonCopy(
        layout=LAYOUT, sections=tuple(person_view(LAYOUT, content)), directory=directory, name=name,
        agreed_on=None if draft else date(2026, 11, 20), review_due=None if draft else date(2027, 2, 20),
        draft=draft, trust_name="Test NHS Foundation Trust", printed_on=date(2026, 12, 3),
    )  # fmt: skip


def flat(text: str) -> str:
    return " ".join(text.split())  # no-break spaces in numbers, and line breaks, as single spaces


def check_copy(data: bytes, directory: CrisisDirectory, variant: str) -> None:
    pages = PdfReader(io.BytesIO(data)).pages
    for page in pages:  # the type sizes reportlab writes ("/F1 16 Tf"): none under the variant's minimum
        content = page.get_contents().get_data().decode("latin-1")
        sizes = [float(size) for size in re.findall(r"/F[\d+]+ ([\d.]+) Tf", content)]
        assert min(sizes) >= MIN_SIZE[variant], f"{variant}: type at {min(sizes)} pt"
    first = flat(pages[0].extract_text())
    for contact in directory.contacts:
        assert flat(contact.phone) in first, f"{variant}: {contact.name} not on page 1"
    assert first.index("999") < first.index(flat(directory.contacts[1].phone)), f"{variant}: 999 is not first"
    assert f"checked on {long_date(directory.checked_on)}" in first, f"{variant}: no 'checked on' date on page 1"
    everything = flat(" ".join(p.extract_text() for p in pages))
    for secret in (METHOD, ACCESS, REASON):
        assert secret not in everything, f"{variant} prints {secret}"


# No shrinking: a plan of 200 entries takes minutes to shrink, and the failing plan is printed as it is.
@settings(max_examples=12, deadline=None, database=None, phases=[Phase.explicit, Phase.generate],
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])  # fmt: skip
@given(plans(), st.integers(0, MAX_LOCAL_CONTACTS), st.sampled_from(sorted(NATIONS)), st.sampled_from(NAMES),
       st.booleans())  # fmt: skip
@example(PlanContent.blank(LAYOUT, load_directory().ref), 0, "england", "Jo", True)  # an empty draft
@example(PlanContent.blank(LAYOUT, load_directory().ref), MAX_LOCAL_CONTACTS, "wales", NAMES[-1], False)  # the most
def test_every_variant_of_any_plan_is_made_with_crisis_numbers_on_page_1_and_no_means(
    content: PlanContent, local: int, nation: str, name: str, draft: bool
) -> None:
    directory = directory_with(local, nation)
    copy = copy_of(content, directory, name, draft)
    for variant in PERSON_VARIANTS:
        check_copy(render_copy(copy, variant, FONTS, BRANDING), directory, variant)
