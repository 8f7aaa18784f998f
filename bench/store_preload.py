"""Put N triples straight into the real gateway's FalkorDB graph, in the exact shape the
FalkorDB triples writer makes (Node{uri,workspace,collection} -[:Rel{uri,..}]->
Literal{value,workspace,collection}), in seconds instead of the many minutes the writer needs.
Used to put the store at a given size before timing one message (experiment 3).

    python bench/store_preload.py --triples 30000 [--collection preload] [--graph trustgraph]

Runs the FalkorDB client from the real gateway's venv (/tmp/tgreal/venv), which has it.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import uuid

CODE = r"""
import json, sys, time
from falkordb import FalkorDB
n, coll, graph, run, url = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
g = FalkorDB.from_url(url).select_graph(graph)
t = time.time()
step = 5000
for a in range(0, n, step):
    b = min(n, a + step) - 1
    g.query(
        "UNWIND range($a, $b) AS i "
        "CREATE (s:Node {uri: 'http://preload.example/' + $run + '/s' + toString(i), "
        "workspace: 'default', collection: $c}) "
        "CREATE (o:Literal {value: 'preload ' + $run + ' ' + toString(i), workspace: 'default', collection: $c}) "
        "CREATE (s)-[:Rel {uri: 'http://preload.example/p' + toString(i % 7), "
        "workspace: 'default', collection: $c}]->(o)",
        params={"a": a, "b": b, "run": run, "c": coll})
r = g.query("MATCH (n) RETURN labels(n)[0], count(n)").result_set
print(json.dumps({"seconds": round(time.time() - t, 1), "labels": {x: y for x, y in r}}))
"""


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--triples", type=int, required=True)
    ap.add_argument("--collection", default="preload")
    ap.add_argument("--graph", default="trustgraph")
    ap.add_argument("--url", default="falkor://127.0.0.1:6380")
    ap.add_argument("--python", default="/tmp/tgreal/venv/bin/python")
    a = ap.parse_args()
    out = subprocess.run(
        [a.python, "-c", CODE, str(a.triples), a.collection, a.graph, uuid.uuid4().hex[:6], a.url],
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if out.returncode:
        raise SystemExit(out.stderr)
    print(json.dumps(json.loads(out.stdout)))


if __name__ == "__main__":
    main()
