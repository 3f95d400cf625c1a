# The same as regexp.scm, with Python's re module.
import re, sys, time
text = open(sys.argv[1], encoding="utf-8").read()
t0 = time.perf_counter()
m = re.search(r"needle-\d+-[^\W\d_]+", text)
print("search", (time.perf_counter() - t0) * 1000, m.group(0))
t0 = time.perf_counter()
n = sum(1 for _ in re.finditer(r"\bw[^\W\d_]+", text))
print("count", (time.perf_counter() - t0) * 1000, n)
