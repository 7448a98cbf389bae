"""Draw the small synthetic images that go with the demo MNER and MNRE sets.

Reads ``<root>/demo_mner/{train,valid,test}.txt`` (CoNLL, ``IMGID:`` headers) and
``<root>/demo_mnre/{train,valid,test}.txt`` (one dict literal per line) and writes one
96x96 RGB JPEG per image id to ``<root>/demo_mner/images/<imgid>.jpg`` and
``<root>/demo_mnre/images/<img_id>``. The scene is picked from keywords in the sentence
(sports, music, weather, food, film) or from its entity types (LOC: skyline, ORG: logo,
PER: silhouette); colours and positions come from a hash of the id, so re-running the
script gives byte-identical files. Only Pillow is needed.

Next to the images it writes ``<root>/demo_mner/captions.txt`` and
``<root>/demo_mnre/captions.txt``, one ``<imgid>.jpg :<caption>`` line per image (the format
of BLIP-2 caption files). Each caption is built from the same scene choice, random draws
and colours that drew the image, so it says what is really in the picture.
"""

import argparse
import ast
import colorsys
import hashlib
import random
from collections import Counter
from collections.abc import Callable
from pathlib import Path

from PIL import Image, ImageDraw, ImageFont

SIZE = 96
QUALITY = 80
SPLITS = ("train", "valid", "test")
Sample = tuple[list[str], dict[str, str]]  # tokens, entity type -> first entity of that type
Rgb = tuple[int, int, int]

KEYWORDS: dict[str, set[str]] = {
    scene: set(words.split())
    for scene, words in {
        "sports": "scores score goal match game team win wins beat nba nfl nhl mlb coach derby "
        "marathon record trophy pole transfer squad celtics olympics wimbledon league rugby",
        "music": "album song single tour concert show duet stage music track coachella "
        "glastonbury lollapalooza grammy eurovision",
        "weather": "snow rain storm weather fog sunny sun hurricane cold heat skies clouds "
        "freezing spring earthquake",
        "food": "pizza tacos ramen noodles food chef restaurant bakery curry cafe coffee lunch "
        "dinner seafood bagels",
        "film": "film movie trailer episode season premiere actress cannes netflix director "
        "festival",
    }.items()
}


def read_mner(path: Path) -> dict[str, Sample]:
    """Parse a CoNLL file into {imgid: (tokens, {type: first entity})}."""
    out: dict[str, Sample] = {}
    img, toks, ents = "", [], {}
    for line in path.read_text(encoding="utf-8").split("\n") + [""]:
        if line.startswith("IMGID:"):
            img, toks, ents = line[6:], [], {}
        elif line and img:
            tok, lab = line.split("\t")
            toks.append(tok)
            if lab.startswith("B-"):
                ents.setdefault(lab[2:], tok)
        elif img:
            out[img] = (toks, ents)
            img = ""
    return out


def read_mnre(path: Path) -> dict[str, Sample]:
    """Parse MNRE dict lines into {img_id: (tokens, {type: entity})}; types from relation."""
    out: dict[str, Sample] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        rec = ast.literal_eval(line)
        toks, ents = out.setdefault(rec["img_id"], (list(rec["token"]), {}))
        parts = rec["relation"].split("/")
        if len(parts) == 4:
            ents.setdefault(parts[1].upper(), rec["h"]["name"])
            ents.setdefault(parts[2].upper(), rec["t"]["name"])
    return out


def pick_scene(tokens: list[str], ents: dict[str, str]) -> str:
    words = {t.lower().lstrip("#@") for t in tokens}
    for scene, keys in KEYWORDS.items():
        if words & keys:
            return scene
    for etype, scene in (("LOC", "city"), ("ORG", "logo"), ("PER", "person")):
        if etype in ents:
            return scene
    return "plain"


def col(rng: random.Random, lo: int = 0, hi: int = 255) -> Rgb:
    return (rng.randint(lo, hi), rng.randint(lo, hi), rng.randint(lo, hi))


HUES = ((15, "red"), (40, "orange"), (68, "yellow"), (160, "green"), (195, "teal"),
        (245, "blue"), (315, "purple"), (345, "pink"), (360, "red"))
NUMBERS = ("no", "one", "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten")


def colour_name(c: Rgb) -> str:
    """A plain English name for an RGB colour, e.g. 'dark blue', 'pale pink', 'grey'."""
    h, light, sat = colorsys.rgb_to_hls(*(v / 255 for v in c))
    if light < 0.12:
        return "black"
    if sat < 0.18 or max(c) - min(c) < 30:
        for limit, name in ((0.3, "dark grey"), (0.7, "grey"), (0.88, "light grey")):
            if light < limit:
                return name
        return "white"
    hue = next(name for limit, name in HUES if h * 360 < limit)
    if hue == "orange" and light < 0.4:
        return "brown"
    if hue == "yellow" and light < 0.3:
        return "olive"
    if hue == "red" and light > 0.75:
        return "pale pink"
    if light < 0.3:
        return f"dark {hue}"
    if light > 0.75:
        return f"pale {hue}"
    if sat < 0.3:
        return "dusty pink" if hue in ("red", "pink") else f"greyish {hue}"
    return hue


def a_colour(c: Rgb) -> str:
    """The colour's name with its article: 'a red', 'an orange'."""
    name = colour_name(c)
    return f"{'an' if name[0] in 'aeiou' else 'a'} {name}"


def and_list(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def coloured(things: str, colours: list[Rgb]) -> str:
    """'three red, blue and green beams', 'three pink beams', 'three beams (two pink, one red)'."""
    counts = Counter(colour_name(c) for c in colours)
    number = NUMBERS[len(colours)]
    if len(counts) == 1 or max(counts.values()) == 1:
        return f"{number} {and_list(list(counts))} {things}"
    return f"{number} {things} ({', '.join(f'{NUMBERS[n]} {c}' for c, n in counts.items())})"


def side(x: int) -> str:
    return "on the left" if x < 38 else "on the right" if x > 58 else "in the middle"


def person(d: ImageDraw.ImageDraw, x: int, y: int, s: int, c: Rgb) -> None:
    """A simple silhouette: head circle over rounded shoulders, top-left at (x, y)."""
    d.ellipse((x + s // 3, y, x + 2 * s // 3, y + s // 3), fill=c)
    d.rounded_rectangle((x + s // 6, y + s * 3 // 8, x + 5 * s // 6, y + s), s // 6, fill=c)


def logo(d: ImageDraw.ImageDraw, x: int, y: int, s: int, c: Rgb, letter: str) -> None:
    d.rounded_rectangle((x, y, x + s, y + s), s // 5, fill=c, outline=(255, 255, 255), width=2)
    font = ImageFont.load_default()  # bitmap or FreeType, so centre via textbbox, not anchor
    x0, y0, x1, y1 = d.textbbox((0, 0), letter, font=font)
    d.text((x + (s - x1 - x0) // 2, y + (s - y1 - y0) // 2), letter, fill="white", font=font)


def sports(d: ImageDraw.ImageDraw, r: random.Random, words: set[str]) -> str:
    sky = (120 + r.randint(0, 60), 180, 235)
    d.rectangle((0, 0, SIZE, 30), fill=sky)
    for i in range(6):
        d.rectangle((0, 30 + i * 11, SIZE, 41 + i * 11), fill=(40, 130 + 15 * (i % 2), 50))
    d.line((SIZE // 2, 30, SIZE // 2, SIZE), fill=(240, 240, 240), width=2)
    d.ellipse((28, 48, 68, 88), outline=(240, 240, 240), width=2)
    bx, by = r.randint(8, 70), r.randint(40, 72)
    d.ellipse((bx, by, bx + 16, by + 16), fill=(250, 250, 250), outline=(20, 20, 20))
    d.regular_polygon((bx + 8, by + 8, 4), 5, fill=(20, 20, 20))
    return (f"a simple drawing of a green striped sports pitch under {a_colour(sky)} sky, "
            "with a white halfway line and centre circle and a black and white ball "
            f"{side(bx + 8)}")


def music(d: ImageDraw.ImageDraw, r: random.Random, words: set[str]) -> str:
    d.rectangle((0, 0, SIZE, SIZE), fill=(15, 10, 30 + r.randint(0, 30)))
    beams = []
    for _ in range(3):
        x = r.randint(10, 86)
        beams.append(col(r, 90, 255))
        d.polygon([(x, 0), (x - 22, 72), (x + 22, 72)], fill=beams[-1])
    d.rectangle((0, 72, SIZE, SIZE), fill=(90, 55, 30))
    mx = r.randint(30, 66)
    d.line((mx, 50, mx, 72), fill=(200, 200, 200), width=2)
    d.ellipse((mx - 4, 44, mx + 4, 52), fill=(60, 60, 60))
    return (f"a simple drawing of a dark concert stage with {coloured('spotlight beams', beams)}"
            f", a brown floor and a microphone on a stand {side(mx)}")


def weather(d: ImageDraw.ImageDraw, r: random.Random, words: set[str]) -> str:
    sunny = bool(words & {"sun", "sunny", "skies", "heat", "spring"})
    d.rectangle((0, 0, SIZE, SIZE), fill=(90, 170, 240) if sunny else (120, 125, 140))
    if sunny:
        d.ellipse((60, 8, 86, 34), fill=(255, 215, 40))
    for _ in range(3):
        x, y = r.randint(-10, 60), r.randint(10, 40)
        d.ellipse((x, y, x + 40, y + 18), fill=(235, 235, 240))
    snow = bool(words & {"snow", "freezing", "cold"})
    for _ in range(0 if sunny else 25):
        x, y = r.randint(0, SIZE), r.randint(45, SIZE)
        if snow:
            d.ellipse((x, y, x + 3, y + 3), fill=(255, 255, 255))
        else:
            d.line((x, y, x - 3, y + 8), fill=(60, 90, 200), width=1)
    if sunny:
        return "a simple drawing of a bright blue sky with a yellow sun and three white clouds"
    falling = "white snowflakes" if snow else "blue rain streaks"
    return f"a simple drawing of a grey sky with three white clouds and {falling} falling"


def food(d: ImageDraw.ImageDraw, r: random.Random, words: set[str]) -> str:
    table = col(r, 140, 220)
    d.rectangle((0, 0, SIZE, SIZE), fill=table)
    d.ellipse((12, 14, 84, 86), fill=(245, 245, 245), outline=(200, 200, 200), width=3)
    bits = []
    for _ in range(5):
        x, y = r.randint(28, 58), r.randint(28, 58)
        bits.append(col(r, 60, 230))
        d.ellipse((x, y, x + 12, y + 10), fill=bits[-1])
    return (f"a simple drawing of a white plate with {coloured('small round pieces of food', bits)}"
            f" on {a_colour(table)} background")


def film(d: ImageDraw.ImageDraw, r: random.Random, words: set[str]) -> str:
    d.rectangle((0, 0, SIZE, SIZE), fill=(20, 20, 20))
    for x in range(4, SIZE, 12):
        d.rectangle((x, 4, x + 6, 10), fill=(230, 230, 230))
        d.rectangle((x, 86, x + 6, 92), fill=(230, 230, 230))
    screen = col(r, 60, 200)
    d.rectangle((10, 18, 86, 78), fill=screen)
    d.polygon([(40, 34), (40, 62), (62, 48)], fill=(250, 250, 250))
    return (f"a simple drawing of a black film strip with white sprocket holes around a "
            f"{colour_name(screen)} screen showing a white play button")


def city(d: ImageDraw.ImageDraw, r: random.Random, words: set[str]) -> str:
    top = col(r, 60, 200)
    for y in range(SIZE):
        d.line((0, y, SIZE, y), fill=tuple(min(255, c + y) for c in top))
    x = buildings = 0
    while x < SIZE:
        w, h = r.randint(10, 20), r.randint(25, 70)
        shade = r.randint(40, 110)
        d.rectangle((x, SIZE - h, x + w - 2, SIZE), fill=(shade, shade, shade + 20))
        for wy in range(SIZE - h + 4, SIZE - 4, 7):
            d.rectangle((x + 3, wy, x + 5, wy + 2), fill=(250, 230, 120))
        x += w
        buildings += 1
    return (f"a simple drawing of a city skyline of {NUMBERS[buildings]} grey buildings with small "
            f"yellow lit windows under {a_colour(top)} sky that fades lighter downwards")


def plain(d: ImageDraw.ImageDraw, r: random.Random, words: set[str]) -> str:
    back = col(r, 120, 240)
    d.rectangle((0, 0, SIZE, SIZE), fill=back)
    dots = []
    for _ in range(4):
        x, y, s = r.randint(0, 80), r.randint(0, 80), r.randint(10, 30)
        dots.append(col(r, 40, 255))
        d.ellipse((x, y, x + s, y + s), fill=dots[-1])
    return (f"an abstract drawing of {coloured('circles', dots)} on {a_colour(back)} "
            "background")


Painter = Callable[[ImageDraw.ImageDraw, random.Random, set[str]], str]
SCENES: dict[str, Painter] = {f.__name__: f for f in (sports, music, weather, food, film, city)}


def render(key: str, tokens: list[str], ents: dict[str, str]) -> tuple[Image.Image, str]:
    """Draw the image for one id and describe it; all randomness comes from a hash of ``key``."""
    rng = random.Random(int.from_bytes(hashlib.sha256(key.encode()).digest()[:8], "big"))
    img = Image.new("RGB", (SIZE, SIZE))
    d = ImageDraw.Draw(img)
    scene = pick_scene(tokens, ents)
    caption = SCENES.get(scene, plain)(d, rng, {t.lower().lstrip("#@") for t in tokens})
    extras = []
    letter = ents.get("ORG", "?").lstrip("#@")[:1].upper() or "?"
    if scene == "logo":
        c = col(rng, 20, 160)
        logo(d, 24, 24, 48, c, letter)
        extras.append(f"a large {colour_name(c)} rounded square logo in the middle with a "
                      f"white border and the white letter {letter}")
    elif "ORG" in ents:
        c = col(rng, 20, 160)
        logo(d, 4, 4, 22, c, letter)
        extras.append(f"a small {colour_name(c)} logo square with the letter {letter} in the "
                      "top left corner")
    if scene == "person":
        c = col(rng, 10, 80)
        person(d, 18, 22, 60, c)
        extras.append(f"a large {colour_name(c)} silhouette of a person in the middle")
    elif "PER" in ents:
        c = col(rng, 10, 80)
        person(d, 66, 62, 28, c)
        extras.append(f"a small {colour_name(c)} silhouette of a person in the bottom right "
                      "corner")
    if extras:
        caption += ", and " + and_list(extras)
    return img, caption


def main(root: Path) -> int:
    count = 0
    for name, reader in (("demo_mner", read_mner), ("demo_mnre", read_mnre)):
        out_dir = root / name / "images"
        out_dir.mkdir(parents=True, exist_ok=True)
        lines = []
        for split in SPLITS:
            for key, (tokens, ents) in reader(root / name / f"{split}.txt").items():
                fname = key if key.endswith(".jpg") else f"{key}.jpg"
                img, caption = render(key, tokens, ents)
                img.save(out_dir / fname, "JPEG", quality=QUALITY)
                lines.append(f"{fname} :{caption}\n")
                count += 1
        (root / name / "captions.txt").write_text("".join(lines), encoding="utf-8", newline="\n")
    print(f"wrote {count} images and their captions under {root}")
    return count


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_root = Path(__file__).resolve().parent.parent / "data"
    parser.add_argument("--root", type=Path, default=default_root, help="data/ folder")
    main(parser.parse_args().root)
