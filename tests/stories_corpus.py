"""Twenty events, ten reports of each by different outlets: a corpus for story clustering tests.

Each event has its own place, people, organisation and subject words; each report tells it in
five of eight sentence shapes, in its own order, with its own figures and headline, so reports of
one event share names and subject words but few exact phrases (most are not near duplicates).
"""

from __future__ import annotations

import random

EVENTS = [
    ("flood", "Valparaiso", "Marisol Etxeberria", "the Coastal Rescue Brigade", "floodwaters levees rainfall riverbanks sandbags evacuees"),
    ("wildfire", "Kelowna", "Torvald Amundsen", "the Okanagan Fire Service", "wildfire blaze embers firefighters hectares scorched"),
    ("earthquake", "Erzincan", "Selin Karaoglu", "the Anatolian Seismic Institute", "earthquake tremor aftershocks magnitude rubble epicentre"),
    ("strike", "Gdansk", "Wojciech Pawlikowski", "the Baltic Dockers Union", "strike dockworkers walkout picket wages shipyard"),
    ("election", "Ulaanbaatar", "Batbayar Ganzorig", "the Mongolian Electoral Commission", "ballots turnout candidates constituency runoff polling"),
    ("merger", "Eindhoven", "Annelies Verhoeven", "Philtronics Holdings", "merger shareholders acquisition takeover valuation antitrust"),
    ("verdict", "Adelaide", "Callum Pritchard", "the South Australian Supreme Court", "verdict jurors acquittal prosecutors defendant sentencing"),
    ("bridge", "Genoa", "Lorenzo Bassani", "Autostrade Liguria", "bridge collapse viaduct girders motorway inspectors"),
    ("vaccine", "Basel", "Ursula Tschopp", "Helvetia Biologics", "vaccine regulators approval trial dosage immunisation"),
    ("satellite", "Kourou", "Amelie Fontaine", "Arianespace", "satellite launcher liftoff orbit payload rocket"),
    ("final", "Montevideo", "Diego Forlan Olivera", "Club Nacional", "final goalkeeper penalties stadium trophy striker"),
    ("robbery", "Antwerp", "Pieter Claessens", "the Diamond Exchange", "robbery vault diamonds thieves getaway jewels"),
    ("volcano", "Reykjanes", "Gudrun Sigurdardottir", "the Icelandic Met Office", "eruption lava fissure magma volcano ash"),
    ("explosion", "Tianjin", "Zhou Wenliang", "Binhai Chemical Works", "explosion warehouse chemicals blast detonation hazmat"),
    ("protest", "Tbilisi", "Nino Beridze", "the Georgian Dream coalition", "protesters demonstrators parliament teargas rally riot"),
    ("cyberattack", "Tallinn", "Kristjan Saar", "Estonian Railways", "ransomware hackers servers outage encryption cyberattack"),
    ("spill", "Lagos", "Chinedu Okonkwo", "Niger Delta Petroleum", "spill crude pipeline slick fishermen mangroves"),
    ("derailment", "Winnipeg", "Harold McAllister", "Prairie Rail Freight", "derailment freight tankers carriages locomotive tracks"),
    ("theft", "Dresden", "Friederike Kessler", "the Albertinum collection", "heist jewellery museum burglars display artefacts"),
    ("rescue", "Chiang Rai", "Somchai Wattana", "the Royal Thai Navy", "rescue cave divers trapped oxygen flooded"),
]

SHAPES = [
    "In {place} on {day}, the {w0} {verb} after {n} hours; {person} of {org} called it the worst in a decade.",
    "{person} of {org} said {n2} people in {place} were hit by the {w1} and the {w2}.",
    "The {w3} in {place} brought {n} reports of {w0} to {org}.",
    "{person} promised an inquiry into the {w4} and the {w5} within {n3} days.",
    "The {w1} and the {w4} top the agenda of {org} in {place} next week.",
    "In {place}, {org} confirmed the {w2} and the {w5}, while {person} urged calm.",
    "{n2} more people were sent to {place} for the {w3} and the {w0}.",
    "The {w0} in {place} tests {org}, led by {person} since {year}.",
]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
VERBS = ["peaked", "eased", "spread", "ended", "worsened", "stopped"]
OUTLETS = ["Courier", "Gazette", "Herald", "Observer", "Tribune", "Chronicle", "Monitor", "Post", "Times", "Record"]


def reports(per_event: int = 10, seed: int = 17) -> list[tuple[int, str]]:
    """(event number, text) for ``per_event`` reports of each event, shuffled."""
    rng = random.Random(seed)
    out = []
    for number, (_kind, place, person, org, subject) in enumerate(EVENTS):
        words = subject.split()
        for outlet in OUTLETS[:per_event]:
            facts = {
                "place": place, "person": person, "org": org, "day": rng.choice(DAYS),
                "verb": rng.choice(VERBS), "n": rng.randint(3, 90), "n2": rng.randint(100, 9000),
                "n3": rng.randint(2, 30), "year": rng.randint(2001, 2020),
                **{f"w{i}": w for i, w in enumerate(words)},
            }
            shapes = rng.sample(SHAPES, 5)
            title = f"{place} {words[0]}: {rng.choice(words[1:])}, {rng.choice(words[1:])}"
            body = "\n\n".join(shape.format(**facts) for shape in shapes)
            out.append((number, f"{title}\n\n{body}\n"))
    rng.shuffle(out)
    return out
