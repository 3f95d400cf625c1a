# Make the benchmark's inputs, deterministically:
#   make-data.py text FILE MB   a text of words with one "needle-N-word" near its end
#   make-data.py json FILE MB   a JSON array of records
import json, random, sys
kind, path, mb = sys.argv[1], sys.argv[2], int(sys.argv[3])
size = mb * 1_000_000
random.seed(7)
words = ["alpha", "wolf", "wind", "river", "stone", "water", "light", "winter", "tree", "wave"]
with open(path, "w", encoding="utf-8") as out:
    if kind == "text":
        n = 0
        while n < size - 1000:
            line = " ".join(random.choice(words) for _ in range(12)) + ".\n"
            out.write(line)
            n += len(line)
        out.write("and at last needle-42-haystack here.\n")
    else:
        out.write("[")
        n, i = 1, 0
        while n < size:
            item = {"id": i, "name": "item-%d" % i, "price": round(random.random() * 1000, 2),
                    "tags": ["a", "bb", "ccc"][: i % 4], "active": i % 2 == 0,
                    "meta": {"x": i * 3, "y": None, "z": "\u00e9\"q"}}
            s = ("," if i else "") + json.dumps(item)
            out.write(s)
            n += len(s)
            i += 1
        out.write("]\n")
