#!/usr/bin/env python3
"""Write a deterministic essay + threaded-comment dataset as JSON.

    gen_thread.py --n 1000 --seed 1 -o thread-1000.json

Same --n/--seed/--authors => byte-identical output (stdlib only, seeded RNG).

Vendored from the peer benchmark harness, ../shared/bench/peers/gen_thread.py
(md5 929dd269526158b5514aa5ff65601d32, 2026-11-26), so that `make bench` and
tests/test_load_thread.py work where that folder is absent. Only the layout
changed (ruff format); its output is byte for byte the harness's, which
tests/test_load_thread.py checks wherever ../shared is present. Keep it so.

Shape of the tree:
  * ~30% of comments are top-level (parent_id null); the first always is.
  * A reply goes, half the time, to one of the 20 most recent comments
    (back-and-forth chains, which is what makes threads deep) and otherwise
    to any earlier comment weighted by 1 + its reply count (popular comments
    attract more replies).
  * depth = number of ancestors; top-level is depth 0 and no comment is
    deeper than --max-depth (default 8, = COMMENTS_XTD_MAX_THREAD_LEVEL).
  * created_at strictly increases with id; ids are 1..N; parents precede
    children.
  * Authors come from a pool of --authors people (default max(10, N//3))
    picked with Zipf-like weights, so a few people comment a lot.
"""

# Kept as vendored (seeded RNG, not cryptography; the style rules would change the code):
# ruff: noqa: S311, SIM905, B905, RUF005, UP017
import argparse
import json
import random
from datetime import datetime, timedelta, timezone

WORDS = """the a of to and in that is it for on with as was this be by at not
are from or have an they which one you were all we there can more if what about
when so their out up into would also some than them only its other then these
two may after first any over could new most such where through time because
people work still between well should many those even own back good year much
way our long both same before life world under must last never great thing
argument essay point claim reason evidence example question answer idea theory
practice reader writer author draft paragraph sentence language meaning sense
history culture memory attention knowledge judgment taste style tone voice
structure rhythm craft habit patience curiosity doubt certainty error trust
community conversation discussion comment reply thread moderation archive page
link source citation footnote quote context nuance tradeoff model system design
cost benefit risk incentive market policy school library city garden kitchen
morning evening season winter summer river mountain road bridge window door
simple complex subtle obvious strange familiar careful quick slow honest fair
useful wrong right better worse deeper clearer older younger quiet loud rare
common small large early late certain probably perhaps actually exactly almost
agree disagree think believe wonder notice remember forget argue explain
suggest assume consider compare measure write read listen learn teach change
keep build break follow lead miss find lose choose allow prefer avoid""".split()

FIRST = """Ada Alan Amara Anders Aoife Arjun Beatriz Bilal Camille Chen Chiara
Dario Dmitri Elena Emeka Esther Farah Felix Greta Hana Hugo Ines Ivan Jamal
Jonas Kaito Karin Laila Leon Lucia Malik Marta Mei Nadia Niko Olga Omar Pablo
Priya Quentin Rafael Rosa Sami Sofia Tariq Tomas Uma Vera Wen Yara Yusuf Zoe""".split()
LAST = """Abbott Achebe Bauer Becker Costa Dubois Eriksen Fischer Garcia Haddad
Hoffmann Ibrahim Ito Jensen Kowalski Larsen Lopez Moreau Nakamura Novak Okafor
Oliveira Park Petrov Quinn Rossi Santos Schmidt Silva Tanaka Torres Varga
Wagner Weber Xu Yamada Zhang Zielinski""".split()
DOMAINS = ["example.com", "example.net", "example.org", "mail.example.com"]
LINK_HOSTS = [
    "https://example.com",
    "https://example.org/blog",
    "https://en.example.org/wiki",
    "https://docs.example.net",
]


def sentence(rng, n):
    words = [rng.choice(WORDS) for _ in range(n)]
    i = rng.randrange(n)
    r = rng.random()
    if r < 0.06:
        words[i] = f"**{words[i]}**"
    elif r < 0.12:
        words[i] = f"*{words[i]}*"
    elif r < 0.15:
        words[i] = f"`{words[i]}()`"
    return " ".join(words).capitalize() + rng.choice(".....?!")


def markdownish(rng, n_words, n_links):
    """About n_words whitespace-separated words in 1-4 paragraphs, maybe a
    quote or a list, with n_links Markdown links (their words count too)."""
    links = []
    for _ in range(n_links):
        text = " ".join(rng.choice(WORDS) for _ in range(rng.randint(1, 4)))
        url = f"{rng.choice(LINK_HOSTS)}/{rng.choice(WORDS)}-{rng.randrange(1000)}"
        links.append(f" (see [{text}]({url}))")
        n_words -= 1 + len(text.split())
    style = rng.random()  # < .15: starts with a quote, < .25: ends with a list
    if 0.15 <= style < 0.25 and n_words < 90:
        style = 1.0  # too short for a 3-item list
    n_words -= 1 if style < 0.15 else 3 if style < 0.25 else 0
    sentences, left = [], n_words
    while left > 0:
        k = min(left, rng.randint(6, 22))
        sentences.append(sentence(rng, k))
        left -= k
    for link in links:
        i = rng.randrange(len(sentences))
        sentences[i] = sentences[i][:-1] + link + sentences[i][-1]
    items = []
    if 0.15 <= style < 0.25:
        items, sentences = sentences[-3:], sentences[:-3]
    n_par = min(len(sentences), rng.randint(1, 4))
    cuts = sorted(rng.sample(range(1, len(sentences)), n_par - 1)) if n_par > 1 else []
    paras = [" ".join(sentences[a:b]) for a, b in zip([0] + cuts, cuts + [len(sentences)])]
    if style < 0.15:
        paras[0] = "> " + paras[0]  # quoting the comment replied to
    if items:
        paras.append("\n".join("- " + s for s in items))
    return "\n\n".join(paras)


def comment_words(rng):
    # skewed to short comments, clamped to 40..400 words
    return max(40, min(400, int(rng.lognormvariate(4.6, 0.6))))


def generate(n, seed, n_authors=None, max_depth=8):
    rng = random.Random(seed)
    n_authors = n_authors or max(10, n // 3)
    people = []
    for i in range(n_authors):
        first, last = rng.choice(FIRST), rng.choice(LAST)
        email = f"{first}.{last}{i}@{rng.choice(DOMAINS)}".lower()
        people.append((f"{first} {last}", email))
    weights = [1.0 / (rank + 1) for rank in range(n_authors)]  # Zipf, s=1

    start = datetime(2024, 3, 1, 9, 0, tzinfo=timezone.utc)
    mean_gap = 14 * 24 * 3600 / max(n, 1)  # thread spans about two weeks
    t = start + timedelta(hours=1)
    essay = {
        "slug": "on-slow-conversations",
        "title": "On Slow Conversations",
        "body": "\n\n".join(markdownish(rng, rng.randint(150, 300), rng.randint(0, 2)) for _ in range(8)),
        "published_at": start.isoformat(),
    }

    comments, depth, replies = [], {}, {}
    for cid in range(1, n + 1):
        parent = None
        if cid > 1 and rng.random() >= 0.30:
            if rng.random() < 0.5:
                cands = [c for c in range(max(1, cid - 20), cid) if depth[c] < max_depth]
                parent = rng.choice(cands) if cands else None
            else:
                cands = [c for c in range(1, cid) if depth[c] < max_depth]
                if cands:
                    parent = rng.choices(cands, [1 + replies[c] for c in cands])[0]
        depth[cid] = 0 if parent is None else depth[parent] + 1
        replies[cid] = 0
        if parent is not None:
            replies[parent] += 1
        name, email = rng.choices(people, weights)[0]
        t += timedelta(seconds=1 + int(rng.expovariate(1 / mean_gap)))
        n_links = rng.choices([0, 1, 2, 3], [60, 25, 10, 5])[0]
        comments.append(
            {
                "id": cid,
                "parent_id": parent,
                "author_name": name,
                "author_email": email,
                "body": markdownish(rng, comment_words(rng), n_links),
                "created_at": t.isoformat(),
            }
        )
    return {"essay": essay, "comments": comments}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--n", type=int, required=True, help="number of comments")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--authors", type=int, default=None, help="size of the commenter pool (default max(10, N//3))")
    ap.add_argument("--max-depth", type=int, default=8)
    ap.add_argument("-o", "--output", required=True)
    a = ap.parse_args()
    data = generate(a.n, a.seed, a.authors, a.max_depth)
    with open(a.output, "w") as f:
        json.dump(data, f, indent=1, ensure_ascii=False)
        f.write("\n")


if __name__ == "__main__":
    main()
