"""Deterministic synthetic people and safety-plan text for demos and benchmarks.

Nothing here describes a real person: NHS numbers come from the 999 test
range (never issued), phone numbers from Ofcom's drama ranges (07700 900xxx,
0113 496 0xxx), and names are random given x family combinations. The text
is written in the first person, as people write their own plans, and in a
mix of scripts and languages so the UI, search and export are exercised
with realistic input (diacritics, right-to-left names, the odd emoji).
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import date, timedelta

from perfectcare_desktop.core.patients.nhs_number import test_range_numbers

SECTION_KEYS: tuple[str, ...] = (
    "warning_signs",
    "coping_alone",
    "distractions",
    "people_to_ask",
    "professionals",
    "making_safer",
    "reasons_for_living",
    "where_plan_kept",
)

# Ages are computed against a fixed date, not today, so a seed gives the
# same people whenever it is run.
REFERENCE_DATE = date(2025, 1, 1)
MIN_AGE, MAX_AGE = 16, 90
ACCESS_NEEDS: tuple[str, ...] = ("large print", "easy read", "interpreter")

_EMOJI_RATE = 1 / 30
_NATIVE_ENTRY_RATE = 0.4  # share of entries written in Welsh/Polish for those speakers


@dataclass(frozen=True)
class DemoPerson:
    given_name: str
    family_name: str
    preferred_name: str
    date_of_birth: date
    nhs_number: str
    local_id: str
    preferred_language: str
    access_needs: tuple[str, ...]


@dataclass(frozen=True)
class DemoPlanText:
    sections: dict[str, list[str]]
    contacts: list[dict[str, str]]


@dataclass(frozen=True)
class _NameGroup:
    weight: int
    female: tuple[str, ...]
    male: tuple[str, ...]
    # A family name is either neutral, or a (male form, female form) pair.
    family: tuple[str | tuple[str, str], ...]
    # (language, weight) pairs for people drawn from this group.
    languages: tuple[tuple[str, int], ...] = (("English", 1),)


_GROUPS: dict[str, _NameGroup] = {
    "english": _NameGroup(
        40,
        (
            "Amelia",
            "Olivia",
            "Emily",
            "Sophie",
            "Chloe",
            "Jessica",
            "Charlotte",
            "Megan",
            "Stacey",
            "Karen",
            "Margaret",
            "Joan",
            "Poppy",
            "Kayleigh",
            "Elizabeth",
            "Hannah",
            "Lauren",
            "Rebecca",
            "Gemma",
            "Pauline",
        ),
        (
            "Oliver",
            "Jack",
            "Harry",
            "Daniel",
            "Liam",
            "Kieran",
            "Gary",
            "Derek",
            "Alfie",
            "Dean",
            "Matthew",
            "Christopher",
            "Stephen",
            "Nathan",
            "Ryan",
            "Keith",
            "Connor",
            "Benjamin",
            "Graham",
            "Lee",
        ),
        (
            "Taylor",
            "Wilson",
            "Johnson",
            "Robinson",
            "Thompson",
            "Lockwood",
            "Walker",
            "White",
            "Roberts",
            "Green",
            "Hall",
            "Wood",
            "Jackson",
            "Clarke",
            "Holloway",
            "Pemberton",
            "Ashworth",
            "Butterworth",
            "Marsh",
            "Fletcher",
            "Heywood",
            "Sutcliffe",
            "Barraclough",
            "Dobson",
        ),
    ),
    "scottish": _NameGroup(
        8,
        ("Eilidh", "Isla", "Morag", "Kirsty", "Catriona", "Mhairi", "Ailsa", "Fiona"),
        ("Callum", "Fraser", "Ruaridh", "Ewan", "Hamish", "Lachlan", "Struan", "Alasdair"),
        (
            "MacLeod",
            "Stewart",
            "Robertson",
            "McKenzie",
            "Sinclair",
            "Munro",
            "Gillespie",
            "Drummond",
            "MacAulay",
            "Buchanan",
        ),
    ),
    "welsh": _NameGroup(
        10,
        (
            "Siân",
            "Gwenllian",
            "Cerys",
            "Bethan",
            "Lowri",
            "Carys",
            "Llinos",
            "Ffion",
            "Elin",
            "Heledd",
            "Mererid",
            "Eirlys",
        ),
        ("Rhys", "Dafydd", "Iwan", "Owain", "Gethin", "Tomos", "Gruffudd", "Emyr", "Geraint", "Huw", "Llŷr", "Meilir"),
        (
            "ap Dafydd",
            "Llywelyn",
            "Pritchard",
            "Griffiths",
            "Morgan",
            "Bowen",
            "Prosser",
            "Parry",
            "Rees",
            "Vaughan",
            "Gwilym",
            "ab Owain",
            "Meredith",
        ),
        (("Welsh", 1), ("English", 1)),
    ),
    "irish": _NameGroup(
        6,
        ("Siobhán", "Niamh", "Aoife", "Róisín", "Caoimhe", "Gráinne", "Sinéad"),
        ("Cian", "Oisín", "Ciarán", "Pádraig", "Eoin", "Tadhg", "Colm"),
        (
            ("Ó Briain", "Ní Bhriain"),
            ("Ó Súilleabháin", "Ní Shúilleabháin"),
            ("Mac Cárthaigh", "Nic Cárthaigh"),
            "Byrne",
            "Nolan",
            "Doherty",
            "Gallagher",
            "Brennan",
            "Quinlan",
        ),
    ),
    "polish": _NameGroup(
        10,
        ("Zofia", "Żaneta", "Agnieszka", "Małgorzata", "Katarzyna", "Joanna", "Magdalena", "Ewa", "Jadwiga", "Bożena"),
        (
            "Łukasz",
            "Grzegorz",
            "Paweł",
            "Wojciech",
            "Krzysztof",
            "Michał",
            "Jędrzej",
            "Bartłomiej",
            "Tomasz",
            "Zbigniew",
        ),
        (
            "Wójcik",
            "Kowalczyk",
            "Nowak",
            "Mazur",
            "Krawczyk",
            "Zając",
            "Wróbel",
            "Dudek",
            "Sikora",
            "Kaczmarek",
            ("Wiśniewski", "Wiśniewska"),
            ("Kowalski", "Kowalska"),
            ("Dąbrowski", "Dąbrowska"),
            ("Zieliński", "Zielińska"),
        ),
        (("Polish", 7), ("English", 3)),
    ),
    "caribbean": _NameGroup(
        7,
        ("Marcia", "Shanice", "Beverley", "Claudette", "Tanisha", "Yvonne", "Paulette", "Simone"),
        ("Delroy", "Winston", "Jermaine", "Tyrone", "Marlon", "Desmond", "Kemar", "Andre"),
        ("Francis", "Grant", "Chambers", "Samuels", "McFarlane", "Facey", "Bailey", "Gayle", "Forbes", "Spence"),
    ),
    "south_asian": _NameGroup(
        10,
        ("Aisha", "Fatima", "Zainab", "Mariam", "Noor", "Sana", "Rukhsana", "Nusrat"),
        ("Bilal", "Hamza", "Usman", "Tariq", "Asif", "Zubair", "Waqas", "Faisal"),
        ("Khan", "Hussain", "Ahmed", "Akhtar", "Iqbal", "Malik", "Qureshi", "Chaudhry", "Mahmood", "Shah"),
        (("English", 6), ("Urdu", 4)),
    ),
    "urdu_script": _NameGroup(
        3,
        ("عائشہ", "فاطمہ", "زینب", "مریم", "نور", "ثنا"),
        ("بلال", "حمزہ", "عثمان", "طارق", "آصف", "زبیر"),
        ("خان", "حسین", "احمد", "ملک", "قریشی", "اقبال", "چوہدری"),
        (("Urdu", 1),),
    ),
    "arabic": _NameGroup(
        4,
        ("Layla", "Amira", "Huda", "Rania", "Nadia", "Yasmin"),
        ("Omar", "Yusuf", "Khalid", "Karim", "Samir", "Hassan"),
        ("Haddad", "Mansour", "Nasser", "Saleh", "Khoury", "Al-Sayed", "Ibrahim"),
        (("English", 1), ("Arabic", 1)),
    ),
    "arabic_script": _NameGroup(
        2,
        ("ليلى", "أميرة", "هدى", "نادية", "رانيا"),
        ("يوسف", "خالد", "كريم", "سمير", "عمر"),
        ("حداد", "منصور", "ناصر", "صالح", "إبراهيم"),
        (("Arabic", 1),),
    ),
    "west_african": _NameGroup(
        4,
        ("Adaeze", "Ama", "Folake", "Chiamaka", "Abena", "Ngozi"),
        ("Chidi", "Kwame", "Oluwaseun", "Kofi", "Emeka", "Tunde"),
        ("Okafor", "Mensah", "Adeyemi", "Owusu", "Nwosu", "Asante", "Oyelaran"),
    ),
}

# Everyday short forms, so "preferred name" looks like what people put there.
_SHORT_FORMS = {
    "Elizabeth": "Liz",
    "Jessica": "Jess",
    "Rebecca": "Becky",
    "Margaret": "Maggie",
    "Christopher": "Chris",
    "Matthew": "Matt",
    "Benjamin": "Ben",
    "Daniel": "Dan",
    "Stephen": "Steve",
    "Catriona": "Cat",
    "Alasdair": "Ali",
    "Gwenllian": "Gwen",
    "Gruffudd": "Gruff",
    "Małgorzata": "Gosia",
    "Katarzyna": "Kasia",
    "Bartłomiej": "Bartek",
    "Krzysztof": "Krzyś",
    "Magdalena": "Madzia",
    "Wojciech": "Wojtek",
    "Pádraig": "Paddy",
    "Oluwaseun": "Seun",
    "Chiamaka": "Amaka",
}
# Occasionally a chosen name unrelated to the given one; getting it right
# matters a great deal to the person, so the demo data should carry it.
_CHOSEN_NAMES = ("Ash", "Kit", "Rowan", "Jude", "Frankie", "Charlie", "Robin", "Sky")

_RELATIONSHIPS: tuple[tuple[str, str | None], ...] = (
    ("sister", "f"),
    ("brother", "m"),
    ("mum", "f"),
    ("dad", "m"),
    ("partner", None),
    ("best friend", None),
    ("neighbour", None),
    ("auntie", "f"),
    ("uncle", "m"),
    ("cousin", None),
    ("friend from church", None),
    ("flatmate", None),
    ("daughter", "f"),
    ("son", "m"),
    ("nan", "f"),
    ("grandad", "m"),
    ("friend from work", None),
)
_NEEDS_ADULT_CHILD = {"daughter", "son"}
_NEEDS_LIVING_PARENT = {"mum", "dad", "nan", "grandad"}


# --- Plan text --------------------------------------------------------------
# Placeholders: {mobile} and {landline} become drama-range numbers, {name}
# a first name from the person's own background.

_ENGLISH: dict[str, tuple[str, ...]] = {
    "warning_signs": (
        "When I stop answering my sister's texts",
        "Lying awake after 3am going over things",
        "Cancelling on people at the last minute and making excuses",
        "Not bothering to open the curtains all day",
        "Drinking on my own in the evenings, more than usual",
        "Snapping at the kids over nothing and then feeling awful about it",
        "Giving away stuff I'd normally care about",
        "When I start thinking everyone would be better off without me",
        "Skipping meals and living on toast and energy drinks",
        "Scrolling my phone for hours without taking anything in",
        "Missing shifts and not ringing in",
        "Going quiet in the group chat for days",
        "Waking up with a weight on my chest before I've even opened my eyes",
        "Going over what went wrong with the divorce again and again",
        "Not wanting to walk the dog, which is never like me",
        "After a phone call with my dad that goes badly",
        "The weeks around the anniversary in March",
        "When the voices get louder at night and I can't shut them out",
        "Stopping my meds because 'what's the point'",
        "Sitting in the car outside work and not being able to go in",
    ),
    "coping_alone": (
        "Walk the dog round Sefton Park",
        "Put on my headphones and play the Oasis album start to finish",
        "Have a hot shower and put clean clothes on, even if it's 4pm",
        "Make a brew and drink it at the back door looking at the garden",
        "Hold an ice cube until it melts, it brings me back into my body",
        "Colour in the mandala book my friend gave me",
        "Cook something properly from scratch, like a stew",
        "Breathing app: in for 4, hold for 4, out for 6, ten times",
        "Go for a run along the canal towpath",
        "Write it all down in my notebook and then tear the page out",
        "Watch old episodes of a comfort programme I know by heart",
        "Play FIFA online for an hour",
        "Knit a few rows of the blanket for the baby",
        "Sit in the car with the windows down and sing along to the radio",
        "Read the 'good things' list on the back of this plan",
        "Pray, and read the verses my nan wrote out for me",
        "Do a jigsaw at the kitchen table",
        "Stroke the cat until I calm down",
        "Go to the gym and lift until I'm worn out",
    ),
    "distractions": (
        "The café at the garden centre, the staff know me and always chat",
        "Tuesday football with the lads from work",
        "Sitting in the library in town, just being around people",
        "Saturday parkrun at Roundhay Park, even if I walk it",
        "Choir practice on Wednesday nights",
        "Going to the mosque for Maghrib and staying on for tea afterwards",
        "Going round my mate's to watch the match",
        "The men's shed on Church Lane, we're doing up a bench",
        "Bingo with my auntie on a Thursday",
        "The quiet early swim at the leisure centre",
        "Wandering round the big Tesco, it's bright and busy",
        "Volunteering at the food bank on Fridays",
        "The art class at the recovery college",
        "Taking my niece to the playground",
        "Coffee with my neighbour across the road",
        "Dominoes at the community centre",
        "Church on Sunday and the lunch after",
        "Discord with my friends from the game",
    ),
    "people_to_ask": (
        "The lads in the football group chat, I can just say I'm struggling",
        "My sponsor from AA, any time of day",
        "The imam at our mosque, after Friday prayers",
        "My key worker at the hostel",
        "My best friend from school, we always pick up where we left off",
        "My line manager, who said her door is always open",
        "The peer support worker from the recovery college",
        "My cousin in Birmingham on a video call",
        "Someone from the pastoral team at church",
        "My ex, we're still close and they get it",
        "The neighbour who has my spare key",
        "My nan, I don't have to explain anything to her",
        "My personal tutor at college",
        "The woman who runs the Thursday craft group",
        "My foster mum, who I still ring every Sunday",
    ),
    "professionals": (
        "Crisis team (24 hours): {landline}",
        "My care coordinator {name}, Monday to Friday: {mobile}",
        "GP surgery, ask for an urgent same-day appointment: {landline}",
        "Out-of-hours GP service: {landline}",
        "Duty worker at the community mental health team: {landline}",
        "The crisis café on Vicar Lane, open 6pm till 2am: {landline}",
        "My psychologist's secretary, to pass a message on: {landline}",
        "Student wellbeing service at the university: {landline}",
        "Perinatal mental health team: {landline}",
        "My key worker at the drug and alcohol service: {mobile}",
        "A&E if I can't keep myself safe, I'll ask someone to take me",
        "Home treatment team, they said I can ring any time: {landline}",
        "The pharmacy by the bus station, about my meds: {landline}",
        "Veterans' mental health service: {landline}",
        "The listening line run by the local charity (evenings): {landline}",
        "Early intervention team: {landline}",
        "My social worker {name}: {mobile}",
    ),
    "making_safer": (
        "My partner keeps my tablets and gives me one week at a time",
        "I don't keep paracetamol in the house any more",
        "My brother has the car keys for now",
        "I've taken the old prescriptions back to the pharmacy",
        "No alcohol in the house, my flatmate agreed to the same",
        "I take the bus route that doesn't go over the bridge",
        "Mum looks after my blister packs and I collect them each day",
        "I've deleted the apps and sites that make things worse",
        "The sharp knives are locked in the toolbox and Dad has the key",
        "If the urge comes I go and sit with other people, not on my own",
        "The pharmacy does weekly dispensing for me",
        "My sister has a spare key so she can check on me",
        "I've muted the group chats that wind me up at night",
        "My phone charges in the kitchen, not by my bed",
        "My partner looks after my bank card so I don't spend on drink",
        "When it's bad I stay at my mum's instead of the flat",
        "Gambling blocks on my phone and my bank account",
    ),
    "reasons_for_living": (
        "Seeing my grandson start school in September",
        "My dog, Biscuit, he'd be lost without me",
        "My two girls",
        "Finishing my nursing degree",
        "Going to a match at Anfield with my son",
        "Mum, I don't want her to go through that",
        "The allotment, the tomatoes won't water themselves",
        "The trip to Jamaica next year to see my gran",
        "My faith",
        "Being an uncle to my nephew",
        "The future I can't see yet but my counsellor says is there",
        "My best friend's wedding in June, I'm giving a speech",
        "Finishing the quilt I started for my daughter",
        "Getting my own flat",
        "Walking the whole Wales Coast Path one day",
        "My cat, who waits at the door for me",
        "Proving to myself I can get through this, like I did last time",
        "Learning to drive this summer",
        "The people at choir would miss me",
    ),
    "where_plan_kept": (
        "On my phone, pinned to the top of my notes",
        "A copy on the fridge behind the calendar",
        "In my purse, next to my bus pass",
        "My sister has a photo of it on her phone",
        "In the drawer by my bed",
        "In my wallet behind my bank card",
        "A photo of it is my phone lock screen",
        "In the front of my diary",
        "Stuck inside the kitchen cupboard door",
        "On the noticeboard in my room at the hostel",
        "In the glovebox of the car",
        "Emailed to myself so I can find it anywhere",
        "My care coordinator has a copy in my notes",
        "In the front pocket of my college bag",
        "Mum keeps a copy in her handbag",
        "In the safety plan app on my phone",
    ),
}

_WELSH: dict[str, tuple[str, ...]] = {
    "warning_signs": (
        "Pan dw i'n stopio ateb negeseuon fy chwaer",
        "Methu cysgu a meddwl am yr un pethau drosodd a throsodd",
        "Aros yn y gwely drwy'r dydd",
        "Dw i ddim eisiau gweld neb",
        "Pan dw i'n dechrau yfed ar fy mhen fy hun",
    ),
    "coping_alone": (
        "Mynd â'r ci am dro ar hyd y traeth",
        "Gwrando ar Radio Cymru yn y gegin",
        "Cael cawod boeth a newid fy nillad",
        "Gwneud paned a'i yfed yn yr ardd",
        "Canu yn y car",
    ),
    "distractions": (
        "Mynd i'r caffi yn y pentref a siarad â phwy bynnag sydd yno",
        "Ymarfer côr nos Fercher",
        "Gwylio'r rygbi yn y clwb",
    ),
    "people_to_ask": ("Siarad â fy nain, mae hi'n gwybod am y cynllun hwn",),
    "professionals": ("Tîm argyfwng: {landline}", "Fy meddyg teulu: {landline}"),
    "making_safer": (
        "Mae fy mhartner yn cadw fy nhabledi",
        "Dw i ddim yn cadw alcohol yn y tŷ",
    ),
    "reasons_for_living": (
        "Gweld fy ŵyr yn dechrau'r ysgol ym mis Medi",
        "Fy nghi, Mot",
        "Mae fy mhlant angen fi",
    ),
    "where_plan_kept": ("Ar fy ffôn, yn yr ap nodiadau", "Copi ar yr oergell"),
}

_POLISH: dict[str, tuple[str, ...]] = {
    "warning_signs": (
        "Kiedy przestaję odpisywać siostrze na wiadomości",
        "Leżę bez snu po trzeciej w nocy i wszystko analizuję",
        "Nie wychodzę z domu przez kilka dni",
        "Zaczynam pić wieczorami w samotności",
        "Przestaję jeść normalne posiłki",
    ),
    "coping_alone": (
        "Idę z psem na spacer do parku",
        "Zakładam słuchawki i słucham muzyki",
        "Biorę gorący prysznic",
        "Gotuję zupę według przepisu babci",
        "Układam puzzle przy kuchennym stole",
    ),
    "distractions": (
        "Kawa z koleżanką z pracy",
        "Niedzielna msza i rozmowa po mszy",
        "Polski sklep na rogu, zawsze ktoś tam zagada",
    ),
    "people_to_ask": ("Dzwonię do mamy w Polsce przez WhatsAppa",),
    "professionals": ("Zespół kryzysowy: {landline}", "Mój lekarz rodzinny (GP): {landline}"),
    "making_safer": (
        "Partner trzyma moje leki i wydaje mi je co tydzień",
        "Nie trzymam alkoholu w domu",
    ),
    "reasons_for_living": (
        "Moja córka i jej ślub w przyszłym roku",
        "Chcę jeszcze raz zobaczyć morze w Gdańsku",
        "Mój kot, Mruczek",
    ),
    "where_plan_kept": ("W telefonie, w notatkach", "Na lodówce, pod magnesem z Krakowa"),
}

_NATIVE_TEXT = {"Welsh": _WELSH, "Polish": _POLISH}

# Entries about a specific contact; {rel} is the relationship.
_CONTACT_ENTRIES = (
    "Ring {name} (my {rel}), even after midnight is fine",
    "Text {name} and just put 'bad day', my {rel} knows what that means",
    "Go round to {name}'s, my {rel} puts the kettle on and doesn't push me to talk",
    "{name}, my {rel}, knows about this plan and has a copy",
    "Ask {name} (my {rel}) to stay on a video call while I get to sleep",
    "Meet {name} for a walk, my {rel} is good at just listening",
)

# An emoji that fits the entry if a word matches, else one for the section.
_EMOJI_BY_WORD = (
    ("dog", "🐕"),
    ("ci ", "🐕"),
    ("psem", "🐕"),
    ("cat", "🐈"),
    ("kot", "🐈"),
    ("headphones", "🎧"),
    ("music", "🎧"),
    ("muzyki", "🎧"),
    ("radio", "📻"),
    ("brew", "☕"),
    ("coffee", "☕"),
    ("kawa", "☕"),
    ("paned", "☕"),
    ("run", "🏃"),
    ("walk", "🚶"),
    ("football", "⚽"),
    ("match", "⚽"),
    ("choir", "🎶"),
    ("côr", "🎶"),
    ("knit", "🧶"),
    ("garden", "🌱"),
    ("allotment", "🌱"),
    ("pray", "🙏"),
    ("faith", "🙏"),
    ("phone", "📱"),
)
_EMOJI_BY_SECTION = {
    "warning_signs": "😔",
    "coping_alone": "🙂",
    "distractions": "🙂",
    "people_to_ask": "💬",
    "professionals": "📞",
    "making_safer": "🔒",
    "reasons_for_living": "💙",
    "where_plan_kept": "📄",
}


def _mobile(rng: random.Random) -> str:
    return f"07700 900{rng.randrange(1000):03d}"


def _landline(rng: random.Random) -> str:
    return f"0113 496 0{rng.randrange(1000):03d}"


def _given_pool(group: _NameGroup, sex: str | None) -> tuple[str, ...]:
    if sex == "f":
        return group.female
    if sex == "m":
        return group.male
    return group.female + group.male


def _family_name(group: _NameGroup, sex: str, rng: random.Random) -> str:
    family = rng.choice(group.family)
    if isinstance(family, tuple):
        return family[1] if sex == "f" else family[0]
    return family


def _weighted(rng: random.Random, options: tuple[tuple[str, int], ...]) -> str:
    names = [name for name, _ in options]
    weights = [weight for _, weight in options]
    return rng.choices(names, weights)[0]


def _date_of_birth(rng: random.Random) -> date:
    # Oldest: the day after their 91st birthday; youngest: 16 today.
    oldest = REFERENCE_DATE.replace(year=REFERENCE_DATE.year - MAX_AGE - 1) + timedelta(days=1)
    youngest = REFERENCE_DATE.replace(year=REFERENCE_DATE.year - MIN_AGE)
    return oldest + timedelta(days=rng.randrange((youngest - oldest).days + 1))


def _access_needs(rng: random.Random, language: str, age: int) -> tuple[str, ...]:
    needs: list[str] = []
    if rng.random() < (0.15 if age >= 70 else 0.04):
        needs.append("large print")
    if rng.random() < 0.04:
        needs.append("easy read")
    if language != "English" and rng.random() < 0.3:
        needs.append("interpreter")
    return tuple(needs)


def age_on(dob: date, on: date = REFERENCE_DATE) -> int:
    """Whole years between dob and on (the usual birthday rule)."""
    return on.year - dob.year - ((on.month, on.day) < (dob.month, dob.day))


_GROUP_NAMES = tuple(_GROUPS)
_GROUP_WEIGHTS = tuple(g.weight for g in _GROUPS.values())


def demo_people(count: int, seed: int) -> list[DemoPerson]:
    """`count` synthetic people; the same seed always gives the same list.

    The list for a smaller count is a prefix of the list for a larger one.
    """
    rng = random.Random(seed)
    numbers = test_range_numbers(rng)
    people: list[DemoPerson] = []
    for _ in range(count):
        group = _GROUPS[rng.choices(_GROUP_NAMES, _GROUP_WEIGHTS)[0]]
        sex = rng.choice("fm")
        given = rng.choice(_given_pool(group, sex))
        family = _family_name(group, sex, rng)
        preferred = ""
        roll = rng.random()
        if given in _SHORT_FORMS and roll < 0.6:
            preferred = _SHORT_FORMS[given]
        elif roll < 0.03:
            preferred = rng.choice(_CHOSEN_NAMES)
        dob = _date_of_birth(rng)
        language = _weighted(rng, group.languages)
        local_id = f"MC{rng.randrange(10**7):07d}" if rng.random() < 0.8 else ""
        people.append(
            DemoPerson(
                given_name=given,
                family_name=family,
                preferred_name=preferred,
                date_of_birth=dob,
                nhs_number=next(numbers),
                local_id=local_id,
                preferred_language=language,
                access_needs=_access_needs(rng, language, age_on(dob)),
            )
        )
    return people


def _group_of(person: DemoPerson) -> _NameGroup:
    # Contacts and named professionals share the person's background, so an
    # Urdu-script name gets Urdu-script contacts (good for bidi rendering).
    for group in _GROUPS.values():
        if person.given_name in group.female or person.given_name in group.male:
            return group
    return _GROUPS["english"]


def _fill(template: str, rng: random.Random, group: _NameGroup) -> str:
    values: dict[str, str] = {}
    if "{landline}" in template:
        values["landline"] = _landline(rng)
    if "{mobile}" in template:
        values["mobile"] = _mobile(rng)
    if "{name}" in template:
        values["name"] = rng.choice(_given_pool(group, None))
    return template.format_map(values) if values else template


def _maybe_emoji(text: str, section: str, rng: random.Random) -> str:
    if rng.random() >= _EMOJI_RATE:
        return text
    lowered = text.lower()
    emoji = next((e for word, e in _EMOJI_BY_WORD if word in lowered), _EMOJI_BY_SECTION[section])
    return f"{text} {emoji}"


def _contacts(person: DemoPerson, group: _NameGroup, rng: random.Random) -> list[dict[str, str]]:
    age = age_on(person.date_of_birth)
    allowed = [
        (rel, sex)
        for rel, sex in _RELATIONSHIPS
        if not (rel in _NEEDS_ADULT_CHILD and age < 30) and not (rel in _NEEDS_LIVING_PARENT and age > 70)
    ]
    contacts: list[dict[str, str]] = []
    # Not the person's own name: "Ring Cian" on Cian's plan reads as a bug.
    used_names = {person.given_name}
    for rel, sex in rng.sample(allowed, rng.randint(2, 4)):
        pool = [n for n in _given_pool(group, sex) if n not in used_names]
        name = rng.choice(pool)
        used_names.add(name)
        phone = _mobile(rng) if rng.random() < 0.85 else _landline(rng)
        contacts.append({"name": name, "relationship": rel, "phone": phone})
    return contacts


def _pick(section: str, count: int, language: str, rng: random.Random) -> list[str]:
    # Some entries in the person's own language when we have text for it.
    native = _NATIVE_TEXT.get(language, {}).get(section, ())
    wanted = sum(rng.random() < _NATIVE_ENTRY_RATE for _ in range(count)) if native else 0
    if not wanted:
        return rng.sample(_ENGLISH[section], count)
    chosen = rng.sample(native, min(wanted, len(native)))
    chosen += rng.sample(_ENGLISH[section], count - len(chosen))
    rng.shuffle(chosen)
    return chosen


def demo_plan_text(person: DemoPerson, rng: random.Random) -> DemoPlanText:
    """Safety-plan text in the person's own words; deterministic for rng's state."""
    group = _group_of(person)
    contacts = _contacts(person, group, rng)
    sections: dict[str, list[str]] = {}
    for section in SECTION_KEYS:
        if section == "people_to_ask":
            # One entry per contact, plus sometimes someone not in the list.
            templates = rng.sample(_CONTACT_ENTRIES, len(contacts))
            raw = [t.format(name=c["name"], rel=c["relationship"]) for t, c in zip(templates, contacts, strict=True)]
            if len(raw) < 5 and rng.random() < 0.5:
                raw += _pick(section, 1, person.preferred_language, rng)
        else:
            raw = _pick(section, rng.randint(2, 5), person.preferred_language, rng)
        sections[section] = [_maybe_emoji(_fill(t, rng, group), section, rng) for t in raw]
    return DemoPlanText(sections=sections, contacts=contacts)
