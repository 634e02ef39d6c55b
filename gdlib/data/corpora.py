"""Two small corpora the course ships: English sentiment, and English-to-French pairs.

Both are made by seeded generators from hand-written vocabularies and grammars (this
module), written once to tab-separated files by ``tools/make_corpora.py`` and loaded by
:func:`load_sentiment` and :func:`load_translation`. Text is lower-case, tokens are
separated by single spaces and punctuation marks are tokens of their own, so
``text.split()`` and :func:`gdlib.data.text.tokenize` give the same tokens.

Sentiment (:func:`generate_sentiment`)
--------------------------------------
Short reviews of films, meals, hotels, phones... built from clauses of three shapes::

    the film was good           (subject, copula, adjective phrase)
    i loved the hotel           ("i", verb, topic)
    the meal was a disaster     (subject, copula, noun phrase)

Every sentiment word ``w`` has a prior polarity :math:`s(w) \\in \\{+1, -1\\}`
("good", "loved", "masterpiece": +1; "boring", "hated", "disaster", and the words of
excess "long", "loud", "expensive": -1). The label is computed by this compositional rule:

1. **Clause polarity.** :math:`p = s(w)`, times :math:`-1` when a negator governs the
   word ("not", "never", "hardly", "no", "isn't", "wasn't", "didn't", and "not ... at all").
   Intensifiers ("very", "really", "extremely", "truly", "far too", "a real", ...) change
   the strength, never the sign. A negated intensifier ("not very good", "not really
   bad", "not too long") is therefore the sign-flipped word: mildly negative for
   "not very good", mildly positive for "not too long".
2. **Contrast.** In "A but B", "A yet B", "A , however , B" and "although A , B" (also
   "though", "even though") the *last* clause B decides. In "B although A" and
   "B , even though A" the main clause B, which comes *first*, decides. Clauses joined
   by "and" always share their polarity.
3. **Label** = 1 (positive) when the deciding polarity is +1, else 0.

Each example has a ``phenomenon``: ``"plain"``, ``"intensifier"``, ``"negation"``,
``"negated_intensifier"`` or ``"contrast"`` (:data:`ORDER_SENSITIVE` names the last
three). The grammar makes word order carry the label in those three: each family draws
its label at random first (so it is balanced), then the words with the opposite prior
polarity for a negation, and two clauses of opposite polarity for a contrast, in both
orders. The same words thus appear on both sides of the label, and only their order
("not" before the word; which clause follows "but") tells them apart: a bag of words
scores near or below chance on those sentences while a recurrent network, which reads in
order, learns them (Socher et al. 2013 built the Stanford Sentiment Treebank to show the
same effect on real reviews).

Translation (:func:`generate_translation`)
------------------------------------------
English sentences and their French translations, made by one grammar that writes both
sides at once, with these phenomena of French:

* adjectives after the noun ("the red car" -> "la voiture rouge"), except a few that go
  before ("the small house" -> "la petite maison"; "the small red car" -> "la petite
  voiture rouge"), with the forms "bel", "vieil", "nouvel" before a vowel;
* gender and number agreement of articles, possessives ("his car" -> "sa voiture",
  "my school" -> "mon école"), demonstratives ("ce", "cet", "cette", "ces"), adjectives,
  predicative adjectives ("the cars are red" -> "les voitures sont rouges") and the past
  participles of verbs conjugated with "être" ("the girls arrived" -> "les filles sont
  arrivées");
* present-tense conjugation agreeing with the subject, the passé composé for the English
  past (imparfait for "was"/"were"), negation "ne ... pas" around the conjugated verb,
  with "pas de" replacing the indefinite article ("he does not have a car" -> "il n'a pas
  de voiture");
* elision ("l'arbre", "j'aime", "n'a", "qu'il", written as one token as in French
  spelling), contraction ("de le" -> "du", "à les" -> "aux");
* the English possessive "'s" reordered ("the girl 's cat" -> "le chat de la fille"),
  prepositional phrases, "looks for" -> "cherche";
* one to three clauses joined by "and", "but", "because", "while", "when", so lengths run
  from 3 to about 25 tokens with a good share of long sentences.

Each English sentence has exactly one translation (for example "you" is always "vous"),
so a model can, in principle, reach a perfect score.

The shipped splits are made by :func:`sentiment_splits` and :func:`translation_splits`
with :data:`SENTIMENT_SEED` / :data:`TRANSLATION_SEED` and the sizes below; examples are
unique, so no test sentence appears in the training split.
"""

from __future__ import annotations

import functools
import numbers
import random
from pathlib import Path
from typing import NamedTuple

__all__ = [
    "ORDER_SENSITIVE",
    "PHENOMENA",
    "SENTIMENT_SEED",
    "SENTIMENT_SIZES",
    "TRANSLATION_SEED",
    "TRANSLATION_SIZES",
    "SentimentExample",
    "generate_sentiment",
    "generate_translation",
    "load_sentiment",
    "load_translation",
    "sentiment_splits",
    "translation_splits",
    "write_sentiment_tsv",
    "write_translation_tsv",
]

CORPORA_DIR = Path(__file__).resolve().parent / "corpora"

SENTIMENT_SEED = 2024
SENTIMENT_SIZES = {"train": 4000, "test": 1000}
TRANSLATION_SEED = 1789
TRANSLATION_SIZES = {"train": 8000, "test": 800}

PHENOMENA = ("plain", "intensifier", "negation", "negated_intensifier", "contrast")
#: The phenomena whose label depends on word order (the bag-of-words model fails there).
ORDER_SENSITIVE = frozenset({"negation", "negated_intensifier", "contrast"})


class SentimentExample(NamedTuple):
    """One review: its ``text``, ``label`` (1 positive, 0 negative) and ``phenomenon``."""

    text: str
    label: int
    phenomenon: str


# ---------------------------------------------------------------------------------------
# Sentiment: vocabulary
# ---------------------------------------------------------------------------------------

_TOPICS = (
    "film", "movie", "plot", "ending", "soundtrack", "book", "show", "concert",
    "food", "meal", "menu", "restaurant", "dessert", "coffee", "service",
    "hotel", "room", "breakfast", "view", "phone", "battery", "screen", "camera", "game",
)
_DETS = ("the", "this", "the", "our")

_POS_ADJ = (
    "good", "nice", "pleasant", "decent", "enjoyable", "charming", "solid", "lovely",
    "excellent", "superb", "wonderful", "brilliant", "fantastic", "outstanding", "great",
    "delightful",
)
_NEG_ADJ = (
    "bad", "boring", "dull", "poor", "weak", "bland", "mediocre", "disappointing",
    "terrible", "awful", "horrible", "dreadful", "atrocious", "lousy", "tedious", "annoying",
)
# Words of excess: negative, and the only ones "too" / "far too" go with.
_EXCESS_ADJ = ("long", "slow", "loud", "expensive", "noisy", "complicated", "crowded", "small")
_ADJ_INTENSIFIERS = ("very", "really", "extremely", "truly", "incredibly", "so", "quite")
_EXCESS_INTENSIFIERS = ("far too", "way too", "much too", "too")
_ADJ_NEGATORS = ("not", "never", "hardly")
_NEG_INTENSIFIERS = ("very", "really", "that", "particularly", "so")

_POS_VERBS = (("love", "loved"), ("enjoy", "enjoyed"), ("like", "liked"),
              ("adore", "adored"), ("appreciate", "appreciated"))
_NEG_VERBS = (("hate", "hated"), ("dislike", "disliked"), ("loathe", "loathed"),
              ("despise", "despised"), ("resent", "resented"))
_VERB_INTENSIFIERS = ("really", "truly", "absolutely", "totally")

_POS_NOUNS = ("masterpiece", "delight", "treat", "gem", "joy", "triumph", "success")
_NEG_NOUNS = ("disaster", "mess", "letdown", "failure", "nightmare", "joke", "waste")
_NOUN_INTENSIFIERS = ("real", "total", "complete", "true", "absolute")

_PREFIXES = (
    (), (), (), (), ("honestly", ","), ("overall", ","), ("i", "think"), ("i", "felt"),
    ("to", "be", "honest", ","), ("in", "my", "opinion", ","), ("frankly", ","),
    ("in", "the", "end", ","), ("all", "in", "all", ","),
)
_SUFFIXES = ((".",), (".",), (".",), ("!",), ())

# Share of each phenomenon in a generated corpus.
_SENTIMENT_MIX = (
    ("plain", 0.25), ("intensifier", 0.15), ("negation", 0.25),
    ("negated_intensifier", 0.10), ("contrast", 0.25),
)


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _topic_subject(rng: random.Random) -> tuple[list[str], str]:
    """A topic subject and its copula ("the film", "was")."""
    if rng.random() < 0.12:
        return ["it"], rng.choice(("is", "was"))
    return [rng.choice(_DETS), rng.choice(_TOPICS)], rng.choice(("is", "was"))


def _topic_object(rng: random.Random) -> list[str]:
    if rng.random() < 0.12:
        return ["it"]
    return [rng.choice(_DETS), rng.choice(_TOPICS)]


def _adjective_phrase(rng: random.Random, polarity: int, kind: str) -> list[str]:
    """An adjective phrase of the given kind whose polarity (after rule 1) is ``polarity``."""
    # The word's prior polarity: flipped by a negator.
    prior = -polarity if kind in ("negation", "negated_intensifier") else polarity
    excess = prior < 0 and rng.random() < 0.3
    word = rng.choice(_EXCESS_ADJ if excess else (_POS_ADJ if prior > 0 else _NEG_ADJ))
    if kind == "plain":
        return [word]
    if kind == "intensifier":
        return [*rng.choice(_EXCESS_INTENSIFIERS if excess else _ADJ_INTENSIFIERS).split(),
                word]
    if kind == "negation":
        r = rng.random()
        if r < 0.15:
            return ["not", word, "at", "all"]
        return [rng.choice(_ADJ_NEGATORS), word]
    # negated intensifier
    return ["not", "too" if excess else rng.choice(_NEG_INTENSIFIERS), word]


def _clause(rng: random.Random, polarity: int, kind: str) -> list[str]:
    """One clause of the given kind with polarity ``polarity`` (+1 or -1)."""
    frame = rng.random()
    negated = kind in ("negation", "negated_intensifier")
    prior = -polarity if negated else polarity
    if frame < 0.55:  # the film was good
        subj, cop = _topic_subject(rng)
        adjp = _adjective_phrase(rng, polarity, kind)
        if negated and adjp[0] == "not" and rng.random() < 0.3:
            return [*subj, cop + "n't", *adjp[1:]]  # "isn't", "wasn't"
        return [*subj, cop, *adjp]
    if frame < 0.8:  # i loved the hotel
        base, past = rng.choice(_POS_VERBS if prior > 0 else _NEG_VERBS)
        obj = _topic_object(rng)
        if kind == "plain":
            return ["i", past, *obj]
        if kind == "intensifier":
            return ["i", rng.choice(_VERB_INTENSIFIERS), past, *obj]
        if kind == "negation":
            r = rng.random()
            if r < 0.4:
                return ["i", "did", "not", base, *obj]
            if r < 0.6:
                return ["i", "didn't", base, *obj]
            return ["i", "never", past, *obj]
        negator = ["did", "not"] if rng.random() < 0.6 else ["didn't"]
        return ["i", *negator, rng.choice(("really", "particularly")), base, *obj]
    # the meal was a disaster
    noun = rng.choice(_POS_NOUNS if prior > 0 else _NEG_NOUNS)
    subj, cop = _topic_subject(rng)
    if kind == "plain":
        return [*subj, cop, _article(noun), noun]
    if kind == "intensifier":
        adv = rng.choice(_NOUN_INTENSIFIERS)
        return [*subj, cop, _article(adv), adv, noun]
    if kind == "negation":
        r = rng.random()
        if r < 0.5:
            return [*subj, cop, "not", _article(noun), noun]
        if r < 0.75:
            return [*subj, cop, "no", noun]
        return [*subj, cop + "n't", _article(noun), noun]
    adv = rng.choice(_NOUN_INTENSIFIERS)
    return [*subj, cop, "not", _article(adv), adv, noun]


_CLAUSE_KINDS_IN_CONTRAST = (("plain", 0.5), ("intensifier", 0.2), ("negation", 0.2),
                             ("negated_intensifier", 0.1))


def _weighted(rng: random.Random, table) -> str:
    r = rng.random()
    acc = 0.0
    for name, w in table:
        acc += w
        if r < acc:
            return name
    return table[-1][0]


def _contrast(rng: random.Random, label_polarity: int) -> list[str]:
    """Two clauses of opposite polarity; the deciding one has ``label_polarity``."""
    k1 = _weighted(rng, _CLAUSE_KINDS_IN_CONTRAST)
    k2 = _weighted(rng, _CLAUSE_KINDS_IN_CONTRAST)
    r = rng.random()
    if r < 0.3:  # one subject, two adjective phrases: "good but far too long"
        subj, cop = _topic_subject(rng)
        other = _adjective_phrase(rng, -label_polarity, k1)
        decide = _adjective_phrase(rng, label_polarity, k2)
        conj = rng.choice(("but", "but", "yet"))
        return [*subj, cop, *other, conj, *decide]
    other = _clause(rng, -label_polarity, k1)
    decide = _clause(rng, label_polarity, k2)
    r = rng.random()
    if r < 0.45:
        conj = rng.choice((["but"], [",", "but"], ["yet"], [",", "however", ","]))
        return [*other, *conj, *decide]
    if r < 0.7:
        conj = rng.choice((["although"], ["although"], ["even", "though"], ["though"]))
        return [*conj, *other, ",", *decide]
    conj = rng.choice((["although"], [",", "although"], [",", "even", "though"]))
    return [*decide, *conj, *other]


def _sentiment_example(rng: random.Random) -> SentimentExample:
    phenomenon = _weighted(rng, _SENTIMENT_MIX)
    label = int(rng.random() < 0.5)
    polarity = 1 if label else -1
    if phenomenon == "contrast":
        body = _contrast(rng, polarity)
    else:
        body = _clause(rng, polarity, phenomenon)
        if rng.random() < 0.25:  # a second clause of the same polarity, joined by "and"
            second = "plain" if phenomenon == "intensifier" else phenomenon
            body = [*body, "and", *_clause(rng, polarity, second)]
    tokens = [*rng.choice(_PREFIXES), *body, *rng.choice(_SUFFIXES)]
    return SentimentExample(" ".join(tokens), label, phenomenon)


def _check_count(n, name: str = "n") -> int:
    if isinstance(n, bool) or not isinstance(n, numbers.Integral) or n < 0:
        raise ValueError(f"{name} must be a non-negative int (the number of examples), got {n!r}")
    return int(n)


def _check_seed(seed) -> int:
    """An int seed: ``random.Random`` would also take 2.9 or "abc" and hash them silently."""
    if isinstance(seed, bool) or not isinstance(seed, numbers.Integral):
        raise TypeError(f"seed must be an int, got {seed!r} ({type(seed).__name__}).")
    return int(seed)


def _unique(make, n: int, seed: int, key, exclude=frozenset()) -> list:
    """``n`` distinct outputs of ``make(rng)`` (distinct by ``key``), none in ``exclude``."""
    rng = random.Random(seed)
    seen = set(exclude)
    out = []
    tries = 0
    while len(out) < n:
        tries += 1
        if tries > 50 * n + 1000:
            raise RuntimeError(f"the grammar ran out of new sentences after {len(out)} of {n}")
        item = make(rng)
        k = key(item)
        if k is None or k in seen:
            continue
        seen.add(k)
        out.append(item)
    return out


SENTIMENT_MIN_LEN, SENTIMENT_MAX_LEN = 3, 20


def _sentiment_key(ex: SentimentExample):
    n = len(ex.text.split())
    return ex.text if SENTIMENT_MIN_LEN <= n <= SENTIMENT_MAX_LEN else None


def generate_sentiment(n: int, seed: int = 0) -> list[SentimentExample]:
    """Generate ``n`` distinct sentiment examples, the same ones for the same ``seed``.

    Parameters
    ----------
    n : int
        Number of examples.
    seed : int
        Seed of the generator (:class:`random.Random`, whose streams are stable across
        Python versions).

    Returns
    -------
    list of SentimentExample
        ``(text, label, phenomenon)``; about 25 % plain, 15 % intensifier, 25 % negation,
        10 % negated intensifier and 25 % contrast, each family balanced between labels,
        3 to 20 tokens each. The label follows the compositional rule in the module
        docstring.
    """
    n, seed = _check_count(n), _check_seed(seed)
    return _unique(_sentiment_example, n, seed, _sentiment_key)


def sentiment_splits(sizes=None, seed: int = SENTIMENT_SEED) -> dict[str, list]:
    """The shipped train/test split: one pool of distinct examples, cut in two."""
    sizes = dict(SENTIMENT_SIZES if sizes is None else sizes)
    pool = generate_sentiment(sizes["train"] + sizes["test"], seed)
    return {"train": pool[: sizes["train"]], "test": pool[sizes["train"]:]}


# ---------------------------------------------------------------------------------------
# Translation English -> French: lexicon
# ---------------------------------------------------------------------------------------


class _Noun(NamedTuple):
    en: str
    en_pl: str
    fr: str
    fr_pl: str
    gender: str  # "m" or "f"
    kind: str  # "person", "animal", "thing", "food", "text", "place"


_NOUNS = tuple(_Noun(*row.split()) for row in (
    "boy boys garçon garçons m person", "girl girls fille filles f person",
    "man men homme hommes m person", "woman women femme femmes f person",
    "child children enfant enfants m person", "teacher teachers professeur professeurs m person",
    "student students étudiant étudiants m person", "doctor doctors médecin médecins m person",
    "friend friends ami amis m person", "sister sisters sœur sœurs f person",
    "brother brothers frère frères m person", "neighbour neighbours voisine voisines f person",
    "cat cats chat chats m animal", "dog dogs chien chiens m animal",
    "bird birds oiseau oiseaux m animal", "horse horses cheval chevaux m animal",
    "mouse mice souris souris f animal",
    "car cars voiture voitures f thing", "bike bikes vélo vélos m thing",
    "chair chairs chaise chaises f thing", "table tables table tables f thing",
    "door doors porte portes f openable", "window windows fenêtre fenêtres f openable",
    "box boxes boîte boîtes f openable", "bag bags sac sacs m openable",
    "hat hats chapeau chapeaux m thing", "shirt shirts chemise chemises f thing",
    "dress dresses robe robes f thing", "key keys clé clés f thing",
    "apple apples pomme pommes f food", "cake cakes gâteau gâteaux m food",
    "orange oranges orange oranges f food",
    "book books livre livres m text", "letter letters lettre lettres f text",
    "garden gardens jardin jardins m place", "park parks parc parcs m place",
    "city cities ville villes f place", "street streets rue rues f place",
    "kitchen kitchens cuisine cuisines f place", "school schools école écoles f place",
    "market markets marché marchés m place", "station stations gare gares f place",
    "forest forests forêt forêts f place", "office offices bureau bureaux m place",
    "hotel hotels hôtel hôtels m place", "house houses maison maisons f place",
))
_ANIMATE = ("person", "animal")
_BY_KIND: dict[str, tuple[_Noun, ...]] = {}
for _n in _NOUNS:
    _BY_KIND.setdefault(_n.kind, ())
    _BY_KIND[_n.kind] += (_n,)
_OBJECT_KINDS = {  # what each transitive verb may take as object
    "see": ("person", "animal", "thing", "openable", "food", "text", "place"),
    "like": ("person", "animal", "thing", "food", "text", "place"),
    "want": ("thing", "openable", "food", "text", "animal"),
    "find": ("thing", "openable", "text", "animal"),
    "buy": ("thing", "openable", "food", "text"),
    "look for": ("person", "animal", "thing", "openable", "text"),
    "eat": ("food",),
    "read": ("text",),
    "open": ("openable", "text"),
    "wash": ("thing", "animal"),
    "have": ("thing", "openable", "food", "text", "animal"),
}


class _Adj(NamedTuple):
    en: str
    forms: tuple  # French: masc sg, fem sg, masc pl, fem pl
    before: bool  # placed before the noun
    kinds: tuple  # noun kinds it describes
    liaison: str = ""  # masc sg form before a vowel ("bel")


_ALL = ("person", "animal", "thing", "openable", "food", "text", "place")
_OBJ = ("thing", "openable")
_ADJS = (
    _Adj("red", ("rouge", "rouge", "rouges", "rouges"), False, _OBJ + ("food",)),
    _Adj("blue", ("bleu", "bleue", "bleus", "bleues"), False, _OBJ),
    _Adj("green", ("vert", "verte", "verts", "vertes"), False, _OBJ + ("food",)),
    _Adj("black", ("noir", "noire", "noirs", "noires"), False, _OBJ + ("animal",)),
    _Adj("white", ("blanc", "blanche", "blancs", "blanches"), False, _OBJ + ("animal",)),
    _Adj("happy", ("heureux", "heureuse", "heureux", "heureuses"), False, _ANIMATE),
    _Adj("sad", ("triste", "triste", "tristes", "tristes"), False, _ANIMATE),
    _Adj("tired", ("fatigué", "fatiguée", "fatigués", "fatiguées"), False, _ANIMATE),
    _Adj("clean", ("propre", "propre", "propres", "propres"), False, _OBJ + ("place",)),
    _Adj("dirty", ("sale", "sale", "sales", "sales"), False, _OBJ + ("place",)),
    _Adj("expensive", ("cher", "chère", "chers", "chères"), False, _OBJ + ("food", "text")),
    _Adj("quiet", ("calme", "calme", "calmes", "calmes"), False, ("person", "animal", "place")),
    _Adj("small", ("petit", "petite", "petits", "petites"), True, _ALL),
    _Adj("big", ("grand", "grande", "grands", "grandes"), True, _ALL),
    _Adj("old", ("vieux", "vieille", "vieux", "vieilles"), True, _ALL, "vieil"),
    _Adj("beautiful", ("beau", "belle", "beaux", "belles"), True, _ALL, "bel"),
    _Adj("new", ("nouveau", "nouvelle", "nouveaux", "nouvelles"), True, _ALL, "nouvel"),
    _Adj("pretty", ("joli", "jolie", "jolis", "jolies"), True, _OBJ + ("place", "animal")),
    _Adj("good", ("bon", "bonne", "bons", "bonnes"), True, ("person", "food", "text")),
    _Adj("young", ("jeune", "jeune", "jeunes", "jeunes"), True, _ANIMATE),
)


class _Verb(NamedTuple):
    en: tuple  # base, 3rd person singular, past
    fr: tuple  # je, il/elle, nous, vous, ils/elles
    participle: str
    aux: str  # "avoir" or "être"


def _verb(en: str, fr: str, participle: str, aux: str = "avoir") -> _Verb:
    return _Verb(tuple(en.split("/")), tuple(fr.split()), participle, aux)


_TRANSITIVE = {v.en[0]: v for v in (
    _verb("see/sees/saw", "vois voit voyons voyez voient", "vu"),
    _verb("like/likes/liked", "aime aime aimons aimez aiment", "aimé"),
    _verb("want/wants/wanted", "veux veut voulons voulez veulent", "voulu"),
    _verb("find/finds/found", "trouve trouve trouvons trouvez trouvent", "trouvé"),
    _verb("buy/buys/bought", "achète achète achetons achetez achètent", "acheté"),
    _verb("look for/looks for/looked for", "cherche cherche cherchons cherchez cherchent",
          "cherché"),
    _verb("eat/eats/ate", "mange mange mangeons mangez mangent", "mangé"),
    _verb("read/reads/read", "lis lit lisons lisez lisent", "lu"),
    _verb("open/opens/opened", "ouvre ouvre ouvrons ouvrez ouvrent", "ouvert"),
    _verb("wash/washes/washed", "lave lave lavons lavez lavent", "lavé"),
    _verb("have/has/had", "ai a avons avez ont", "eu"),
)}
_INTRANSITIVE = (  # subjects: people and animals
    _verb("sleep/sleeps/slept", "dors dort dormons dormez dorment", "dormi"),
    _verb("sing/sings/sang", "chante chante chantons chantez chantent", "chanté"),
    _verb("run/runs/ran", "cours court courons courez courent", "couru"),
    _verb("work/works/worked", "travaille travaille travaillons travaillez travaillent",
          "travaillé"),
    _verb("play/plays/played", "joue joue jouons jouez jouent", "joué"),
    _verb("arrive/arrives/arrived", "arrive arrive arrivons arrivez arrivent", "arrivé",
          "être"),
    _verb("leave/leaves/left", "pars part partons partez partent", "parti", "être"),
    _verb("come/comes/came", "viens vient venons venez viennent", "venu", "être"),
)
_GO = _verb("go/goes/went", "vais va allons allez vont", "allé", "être")
_BE_PRESENT = ("suis", "est", "sommes", "êtes", "sont")
_BE_PAST = ("étais", "était", "étions", "étiez", "étaient")
_AVOIR = _TRANSITIVE["have"].fr
_ETRE = _BE_PRESENT

# Subject pronouns: English, French, person index into the conjugation tables, gender,
# plural, English agreement ("1s", "3s", "pl").
_PRONOUNS = (
    ("i", "je", 0, "m", False, "1s"), ("you", "vous", 3, "m", True, "pl"),
    ("he", "il", 1, "m", False, "3s"), ("she", "elle", 1, "f", False, "3s"),
    ("we", "nous", 2, "m", True, "pl"), ("they", "ils", 4, "m", True, "pl"),
)
_POSSESSIVES = {  # English -> French (masc sg, fem sg, plural)
    "my": ("mon", "ma", "mes"), "your": ("votre", "votre", "vos"),
    "his": ("son", "sa", "ses"), "her": ("son", "sa", "ses"),
    "our": ("notre", "notre", "nos"), "their": ("leur", "leur", "leurs"),
}
_NUMBERS = {"two": "deux", "three": "trois", "four": "quatre"}
_LOCATIVES = {  # English preposition -> French
    "in": "dans", "on": "sur", "under": "sous", "near": "près de", "behind": "derrière",
    "in front of": "devant", "next to": "à côté de", "with": "avec",
}
_CONJUNCTIONS = {"and": "et", "but": "mais", "because": "parce que", "while": "pendant que",
                 "when": "quand"}
_VOWELS = set("aeiouyéèêâîôûœ")
_H_MUET = {"homme", "hommes", "hôtel", "hôtels", "heureux", "heureuse", "heureuses"}
_ELISION = {"le": "l'", "la": "l'", "de": "d'", "ne": "n'", "je": "j'", "que": "qu'"}
_CONTRACTION = {("de", "le"): "du", ("de", "les"): "des", ("à", "le"): "au", ("à", "les"): "aux"}


def _starts_with_vowel(word: str) -> bool:
    return word[0] in _VOWELS or word in _H_MUET


def _french_spelling(tokens: list[str]) -> list[str]:
    """Apply elision ("le arbre" -> "l'arbre"), then contraction ("de le" -> "du")."""
    elided: list[str] = []
    for tok, nxt in zip(tokens, [*tokens[1:], None]):
        if elided and elided[-1].endswith("'"):
            elided[-1] += tok
        elif tok in _ELISION and nxt is not None and _starts_with_vowel(nxt):
            elided.append(_ELISION[tok])
        else:
            elided.append(tok)
    out: list[str] = []
    for tok in elided:
        if out and (out[-1], tok) in _CONTRACTION:
            out[-1] = _CONTRACTION[out[-1], tok]
        else:
            out.append(tok)
    return out


# ---------------------------------------------------------------------------------------
# Translation: grammar (writes English and French side by side)
# ---------------------------------------------------------------------------------------


class _Phrase(NamedTuple):
    en: list
    fr: list
    gender: str = "m"
    plural: bool = False


def _agree(forms: tuple, gender: str, plural: bool) -> str:
    return forms[(2 if plural else 0) + (gender == "f")]


def _nouns_of(kinds) -> list:
    return [n for k in kinds for n in _BY_KIND.get(k, ())]


_DETERMINERS = (("the", 0.55), ("indefinite", 0.15), ("possessive", 0.16),
                ("demonstrative", 0.10), ("possessor", 0.04))
_DEFINITE_DETERMINERS = (("the", 0.6), ("possessive", 0.25), ("demonstrative", 0.15))


def _noun_phrase(rng: random.Random, kinds, *, negated: bool = False, definite: bool = False,
                 possessor: bool = True, plural_rate: float = 0.3) -> _Phrase:
    """A noun phrase: determiner, adjectives, noun (and a possessor), in both languages.

    ``negated``: the phrase is the object of a negated verb, so the French indefinite
    article becomes "de" ("pas de voiture"). ``definite``: only "the", possessives and
    demonstratives.
    """
    noun = rng.choice(_nouns_of(kinds))
    plural = rng.random() < plural_rate
    g = noun.gender
    # adjectives: none, one after the noun, one before, or one of each
    r = rng.random()
    fitting = [a for a in _ADJS if noun.kind in a.kinds]
    pre = [a for a in fitting if a.before]
    post = [a for a in fitting if not a.before]
    a_pre = rng.choice(pre) if r >= 0.7 and pre else None
    a_post = rng.choice(post) if (0.45 <= r < 0.7 or r >= 0.88) and post else None
    en_core = [*([a_pre.en] if a_pre else []), *([a_post.en] if a_post else []),
               noun.en_pl if plural else noun.en]
    fr_noun = noun.fr_pl if plural else noun.fr
    fr_core = []
    if a_pre:
        form = _agree(a_pre.forms, g, plural)
        if a_pre.liaison and not plural and g == "m" and _starts_with_vowel(fr_noun):
            form = a_pre.liaison  # "le vieil arbre", "un bel hôtel"
        fr_core.append(form)
    fr_core.append(fr_noun)
    if a_post:
        fr_core.append(_agree(a_post.forms, g, plural))
    first_fr = fr_core[0]
    det = _weighted(rng, _DEFINITE_DETERMINERS if definite else _DETERMINERS)
    if det == "possessor" and not possessor:
        det = "demonstrative"
    if det == "the":
        en_det = ["the"]
        fr_det = ["les" if plural else ("le" if g == "m" else "la")]
    elif det == "indefinite":
        if plural:
            number = rng.choice(sorted(_NUMBERS))
            en_det, fr_det = [number], [_NUMBERS[number]]
        else:
            en_det = ["an" if en_core[0][0] in "aeiou" else "a"]
            fr_det = ["de" if negated else ("un" if g == "m" else "une")]
    elif det == "possessive":
        word = rng.choice(sorted(_POSSESSIVES))
        masc, fem, pl = _POSSESSIVES[word]
        if plural:
            fr_word = pl
        elif g == "f" and not _starts_with_vowel(first_fr):
            fr_word = fem
        else:
            fr_word = masc  # "mon école": the masculine form before a vowel
        en_det, fr_det = [word], [fr_word]
    elif det == "demonstrative":
        en_det = ["these" if plural else "this"]
        if plural:
            fr_det = ["ces"]
        elif g == "f":
            fr_det = ["cette"]
        else:
            fr_det = ["cet" if _starts_with_vowel(first_fr) else "ce"]
    else:  # the girl 's cat -> le chat de la fille
        owner = rng.choice(_BY_KIND["person"])
        own_fr = "le" if owner.gender == "m" else "la"
        article = "les" if plural else ("le" if g == "m" else "la")
        return _Phrase(["the", owner.en, "'s", *en_core],
                       [article, *fr_core, "de", own_fr, owner.fr], g, plural)
    return _Phrase([*en_det, *en_core], [*fr_det, *fr_core], g, plural)


_LOCATIVE_KINDS = {
    "in": ("place",), "on": ("thing",), "under": ("thing",), "near": ("place", "thing"),
    "behind": ("place", "thing", "openable"), "in front of": ("place", "thing"),
    "next to": ("place", "thing", "person"), "with": ("person", "animal"),
}


def _prepositional_phrase(rng: random.Random, with_ok: bool = True) -> _Phrase:
    preps = sorted(_LOCATIVES) if with_ok else sorted(p for p in _LOCATIVES if p != "with")
    prep = rng.choice(preps)
    np_ = _noun_phrase(rng, _LOCATIVE_KINDS[prep], definite=prep != "with", possessor=False,
                       plural_rate=0.15)
    return _Phrase([*prep.split(), *np_.en], [*_LOCATIVES[prep].split(), *np_.fr])


def _subject(rng: random.Random, kinds) -> tuple[_Phrase, int, str]:
    """A subject: phrase, French person index (0-4), English agreement ("1s", "3s", "pl")."""
    animate = set(kinds) <= set(_ANIMATE)
    if animate and rng.random() < 0.4:
        en, fr, idx, g, plural, agr = rng.choice(_PRONOUNS)
        return _Phrase([en], [fr], g, plural), idx, agr
    np_ = _noun_phrase(rng, kinds, definite=rng.random() < 0.7)
    return np_, (4 if np_.plural else 1), ("pl" if np_.plural else "3s")


def _participle(verb: _Verb, subj: _Phrase) -> str:
    word = verb.participle
    if verb.aux == "être":  # agrees with the subject: "elles sont arrivées"
        word += ("e" if subj.gender == "f" else "") + ("s" if subj.plural else "")
    return word


def _verb_group(rng: random.Random, verb: _Verb, subj: _Phrase, idx: int, agr: str,
                past: bool, negated: bool) -> tuple[list, list]:
    """The conjugated verb in both languages ("does not see" / "ne voit pas")."""
    base, third, preterite = verb.en
    if past:
        en = ["did", "not", *base.split()] if negated else preterite.split()
        aux = (_AVOIR if verb.aux == "avoir" else _ETRE)[idx]
        fr = ["ne", aux, "pas"] if negated else [aux]
        fr.append(_participle(verb, subj))
    else:
        if negated:
            en = ["does" if agr == "3s" else "do", "not", *base.split()]
        else:
            en = (third if agr == "3s" else base).split()
        fr = ["ne", verb.fr[idx], "pas"] if negated else [verb.fr[idx]]
    return en, fr


def _copula(subj_en: str, agr: str, idx: int, past: bool, negated: bool):
    if past:
        en = ["were" if agr == "pl" or subj_en == "you" else "was"]
        fr_verb = _BE_PAST[idx]
    else:
        en = ["am" if agr == "1s" else ("is" if agr == "3s" else "are")]
        fr_verb = _BE_PRESENT[idx]
    if negated:
        return en + ["not"], ["ne", fr_verb, "pas"]
    return en, [fr_verb]


def _translation_clause(rng: random.Random) -> _Phrase:
    past = rng.random() < 0.35
    negated = rng.random() < 0.25
    r = rng.random()
    if r < 0.45:  # the boy sees the red car (in the garden)
        verb = _TRANSITIVE[rng.choice(sorted(_TRANSITIVE))]
        subj, idx, agr = _subject(rng, ("person",))
        if verb.en[0] == "read" and agr != "3s":
            past = False  # "they read" would be present or past: keep one translation
        en_v, fr_v = _verb_group(rng, verb, subj, idx, agr, past, negated)
        obj = _noun_phrase(rng, _OBJECT_KINDS[verb.en[0]], negated=negated)
        en, fr = [*subj.en, *en_v, *obj.en], [*subj.fr, *fr_v, *obj.fr]
        if rng.random() < 0.3:
            pp = _prepositional_phrase(rng, with_ok=True)
            en, fr = en + pp.en, fr + pp.fr
    elif r < 0.65:  # the dog sleeps (under the table)
        verb = rng.choice(_INTRANSITIVE)
        subj, idx, agr = _subject(rng, _ANIMATE)
        en_v, fr_v = _verb_group(rng, verb, subj, idx, agr, past, negated)
        en, fr = [*subj.en, *en_v], [*subj.fr, *fr_v]
        if rng.random() < 0.55:
            pp = _prepositional_phrase(rng)
            en, fr = en + pp.en, fr + pp.fr
    elif r < 0.73:  # we go to the market -> nous allons au marché
        subj, idx, agr = _subject(rng, _ANIMATE)
        en_v, fr_v = _verb_group(rng, _GO, subj, idx, agr, past, negated)
        place = _noun_phrase(rng, ("place",), definite=True, possessor=False, plural_rate=0.0)
        en, fr = [*subj.en, *en_v, "to", *place.en], [*subj.fr, *fr_v, "à", *place.fr]
    elif r < 0.88:  # the cars are red -> les voitures sont rouges
        adj = rng.choice([a for a in _ADJS if not a.before or a.en in ("small", "big", "old")])
        subj, idx, agr = _subject(rng, adj.kinds)
        en_v, fr_v = _copula(subj.en[0], agr, idx, past, negated)
        en = [*subj.en, *en_v, adj.en]
        fr = [*subj.fr, *fr_v, _agree(adj.forms, subj.gender, subj.plural)]
    else:  # the cat is under the table
        subj, idx, agr = _subject(rng, ("person", "animal", "thing", "openable"))
        en_v, fr_v = _copula(subj.en[0], agr, idx, past, negated)
        pp = _prepositional_phrase(rng, with_ok=False)
        en, fr = [*subj.en, *en_v, *pp.en], [*subj.fr, *fr_v, *pp.fr]
    return _Phrase(en, fr)


TRANSLATION_MIN_LEN, TRANSLATION_MAX_LEN = 3, 25
_CLAUSE_COUNTS = ((1, 0.45), (2, 0.35), (3, 0.20))


def _translation_pair(rng: random.Random) -> tuple[str, str]:
    n_clauses = int(_weighted(rng, _CLAUSE_COUNTS))
    clause = _translation_clause(rng)
    en, fr = list(clause.en), list(clause.fr)
    for _ in range(n_clauses - 1):
        conj = rng.choice(sorted(_CONJUNCTIONS))
        nxt = _translation_clause(rng)
        en += [conj, *nxt.en]
        fr += [*_CONJUNCTIONS[conj].split(), *nxt.fr]
    en.append(".")
    fr.append(".")
    return " ".join(en), " ".join(_french_spelling(fr))


def _translation_key(pair):
    n = len(pair[0].split())
    return pair[0] if TRANSLATION_MIN_LEN <= n <= TRANSLATION_MAX_LEN else None


def generate_translation(n: int, seed: int = 0) -> list[tuple[str, str]]:
    """Generate ``n`` distinct (English, French) pairs, the same ones for the same ``seed``.

    Parameters
    ----------
    n : int
        Number of pairs.
    seed : int
        Seed of the generator (:class:`random.Random`).

    Returns
    -------
    list of (str, str)
        Lower-case sentences, tokens separated by single spaces, ending with " .";
        English sentences are distinct and 3 to 25 tokens long (one to three clauses).
    """
    n, seed = _check_count(n), _check_seed(seed)
    return _unique(_translation_pair, n, seed, _translation_key)


def translation_splits(sizes=None, seed: int = TRANSLATION_SEED) -> dict[str, list]:
    """The shipped train/test split: one pool of pairs with distinct English sides, cut."""
    sizes = dict(TRANSLATION_SIZES if sizes is None else sizes)
    pool = generate_translation(sizes["train"] + sizes["test"], seed)
    return {"train": pool[: sizes["train"]], "test": pool[sizes["train"]:]}


# ---------------------------------------------------------------------------------------
# Files: writing (tools/make_corpora.py) and loading
# ---------------------------------------------------------------------------------------

_SENTIMENT_HEADER = ("text", "label", "phenomenon")
_TRANSLATION_HEADER = ("english", "french")
_SPLITS = ("train", "test")


def _write_tsv(path, header, rows) -> Path:
    path = Path(path)
    lines = ["\t".join(header)]
    for row in rows:
        fields = [str(x) for x in row]
        if any("\t" in f or "\n" in f for f in fields):
            raise ValueError(f"a field contains a tab or a newline: {row!r}")
        lines.append("\t".join(fields))
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def _read_tsv(path, header) -> list[list[str]]:
    lines = Path(path).read_text(encoding="utf-8").splitlines()
    if not lines or tuple(lines[0].split("\t")) != header:
        raise ValueError(f"{path} does not start with the header {chr(9).join(header)!r}")
    return [line.split("\t") for line in lines[1:] if line]


def write_sentiment_tsv(examples, path) -> Path:
    """Write sentiment examples as ``text<TAB>label<TAB>phenomenon`` lines (with a header)."""
    return _write_tsv(path, _SENTIMENT_HEADER, examples)


def write_translation_tsv(pairs, path) -> Path:
    """Write (English, French) pairs as ``english<TAB>french`` lines (with a header)."""
    return _write_tsv(path, _TRANSLATION_HEADER, pairs)


def _check_split(split) -> str:
    if not isinstance(split, str) or split not in _SPLITS:
        raise ValueError(f"split must be 'train' or 'test', got {split!r}")
    return split


def _corpus_file(name: str, split: str) -> Path:
    path = CORPORA_DIR / f"{name}_{split}.tsv"
    if not path.exists():
        raise FileNotFoundError(
            f"{path} is missing; regenerate the corpora with 'python tools/make_corpora.py'")
    return path


@functools.cache
def _sentiment_rows(split: str) -> tuple[SentimentExample, ...]:
    rows = _read_tsv(_corpus_file("sentiment", split), _SENTIMENT_HEADER)
    return tuple(SentimentExample(text, int(label), phen) for text, label, phen in rows)


@functools.cache
def _translation_rows(split: str) -> tuple[tuple[str, str], ...]:
    rows = _read_tsv(_corpus_file("translation", split), _TRANSLATION_HEADER)
    return tuple((en, fr) for en, fr in rows)


def load_sentiment(split: str = "train") -> list[SentimentExample]:
    """The shipped sentiment corpus: 4000 training or 1000 test reviews.

    Parameters
    ----------
    split : {"train", "test"}

    Returns
    -------
    list of SentimentExample
        ``(text, label, phenomenon)``; label 1 is positive. The file is read once and
        kept in memory; each call returns a new list.

    Examples
    --------
    >>> train = load_sentiment("train")
    >>> hard = [ex for ex in train if ex.phenomenon in ORDER_SENSITIVE]
    """
    return list(_sentiment_rows(_check_split(split)))


def load_translation(split: str = "train") -> list[tuple[str, str]]:
    """The shipped English-French corpus: 8000 training or 800 test pairs.

    Parameters
    ----------
    split : {"train", "test"}

    Returns
    -------
    list of (str, str)
        ``(english, french)``, lower-case, tokens separated by single spaces, French in
        UTF-8 with its accents. No English sentence of the test split is in the training
        split.
    """
    return list(_translation_rows(_check_split(split)))
