"""Small result files written by the tests, in each format the report reads."""

from __future__ import annotations

import json
from pathlib import Path

SUITE_HEADER = ("suite,model,query,eps,engine,status,seconds,timed_out,timeout,published,published_detail,relation,"
                "cex_file,reason,decided_by")


def witness_text(xs: list[float], ys: list[float]) -> str:
    items = [f"(X_{i} {v!r})" for i, v in enumerate(xs)] + [f"(Y_{j} {v!r})" for j, v in enumerate(ys)]
    return "sat\n(" + "\n ".join(items) + ")\n"


def suite_csv(folder: Path, rows: list[str] | None = None, header: str = SUITE_HEADER) -> Path:
    """Four queries on two engines: holds, violated (with a 16-input witness file), timeout, unknown."""
    (folder / "t-witness").mkdir(parents=True, exist_ok=True)
    (folder / "t-witness" / "w.txt").write_text(witness_text([0.25] * 16, [1.0, 3.0, 2.0]))
    rows = rows if rows is not None else [
        "t,toy,0,1,auto,holds,0.50,0,20,,,,,,bounds",
        "t,toy,1,1,auto,violated,0.10,0,20,,,,t-witness/w.txt,,attack",
        "t,toy,2,1,auto,unknown,20.00,1,20,,,,,timeout: the 20 s limit was reached,",
        "t,toy,0,1,bounds,holds,0.01,0,20,,,,,,",
        "t,toy,1,1,bounds,unknown,0.02,0,20,,,,,bounds cannot decide,",
    ]
    path = folder / "t.csv"
    path.write_text("\n".join([header, *rows]) + "\n")
    return path


def robust_json(folder: Path) -> Path:
    cex = {"input": [0.5] * 16, "input_codes": [64] * 16, "output_codes": [1, 9, 3], "output": None,
           "replayed_by": ["interpreter"]}
    doc = {"model": "toy.bvq", "data": "d.npz", "eps_unit": "codes", "target_class": None, "target": None,
           "counts": {"holds": 1, "violated": 1, "unknown": 1},
           "results": [
               {"index": 0, "label": 0, "eps": 1.0, "status": "holds", "engine": "auto", "seconds": 0.2, "reason": "",
                "stats": {}, "counterexample": None},
               {"index": 1, "label": 0, "eps": 1.0, "status": "violated", "engine": "auto", "seconds": 0.05, "reason": "",
                "stats": {}, "counterexample": cex},
               {"index": 2, "label": 2, "eps": 2.0, "status": "unknown", "engine": "auto", "seconds": 3.0,
                "reason": "timeout: the 3 s limit was reached", "stats": {"timed_out": True}, "counterexample": None}]}
    path = folder / "robust.json"
    path.write_text(json.dumps(doc))
    return path


def radius_json(folder: Path) -> Path:
    def step(eps, status, how="solved", seconds=0.1):
        return {"eps": eps, "status": status, "seconds": seconds, "engine": "clean" if eps == 0 else "auto", "how": how,
                "reused_from": None, "reason": ""}

    cex = {"input": [0.5] * 16, "input_codes": [64] * 16, "output_codes": [1, 9, 3], "output": None,
           "replayed_by": ["interpreter"]}
    doc = {"model": "toy.bvq", "data": "d.npz", "eps_unit": "codes", "step": 1, "max": 255, "engine": "auto",
           "timeout": 5, "total_timeout": 50, "target": None, "counts": {"exact": 1, "gap": 1, "misclassified": 0},
           "results": [
               {"index": 0, "label": 0, "predicted": 0, "radius": 2, "refuted_at": 3, "exact": True, "misclassified": False,
                "unknown": [], "untried": [], "seconds": 0.4, "stopped": "",
                "steps": [step(0, "holds"), step(1, "holds"), step(2, "holds"), step(4, "violated"),
                          step(3, "violated", how="reused")],
                "witness": {"status": "violated", "engine": "auto", "seconds": 0.1, "reason": "", "stats": {},
                            "counterexample": cex}},
               {"index": 1, "label": 1, "predicted": 1, "radius": 1, "refuted_at": 4, "exact": False,
                "misclassified": False, "unknown": [2, 3], "untried": [], "seconds": 10.2, "stopped": "",
                "steps": [step(0, "holds"), step(1, "holds"), step(2, "unknown", seconds=5.0),
                          step(3, "unknown", seconds=5.0), step(4, "violated")], "witness": None}]}
    path = folder / "radius.json"
    path.write_text(json.dumps(doc))
    return path


def run_instances_csv(folder: Path) -> Path:
    """A batch summary (bvverify.batch.summary.COLUMNS) with its per-instance result files beside it."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "m__p1.txt").write_text("unsat\n")
    (folder / "m__p2.txt").write_text(witness_text([0.5] * 16, [2.0, 1.0]))
    path = folder / "summary.csv"
    path.write_text("name,model,property,timeout,result,status,seconds,engine,reason\n"
                    "m__p1,m.bvq,p1.vnnlib,10,unsat,holds,0.40,auto,\n"
                    "m__p2,m.bvq,p2.vnnlib,10,sat,violated,0.05,auto,\n"
                    "m__p3,m.bvq,p3.vnnlib,10,timeout,unknown,10.00,auto,timeout: the 10 s limit was reached\n"
                    "m__p4,m.bvq,p4.vnnlib,10,pending,,,,\n")
    return path


CROSSCHECK_HEADER = ("key,source,network,query,eps,theirs,their_detail,their_witness,ours,our_seconds,our_reason,kind,"
                     "evidence,second_path,second_detail")


def crosscheck_csv(folder: Path, png: bytes | None = None) -> Path:
    """A cross-check table (bvverify.crosscheck.run.FIELDS): agree, open-here, misclassified and one
    'they say holds, here is a witness' with its evidence files."""
    (folder / "evidence").mkdir(parents=True, exist_ok=True)
    (folder / "evidence" / "t_P_3_4.witness.txt").write_text(witness_text([0.0] * 16, [1.0, 5.0]))
    (folder / "evidence" / "t_P_3_4.json").write_text("{}")
    evidence = "t_P_3_4.witness.txt t_P_3_4.json"
    if png is not None:
        (folder / "evidence" / "t_P_3_4.png").write_bytes(png)
        evidence = "t_P_3_4.witness.txt t_P_3_4.png t_P_3_4.json"
    path = folder / "crosscheck.csv"
    path.write_text("\n".join([
        CROSSCHECK_HEADER,
        "t:P:#0@4,t,P,0,4,holds,Robust in 1 s,,holds,0.500,,agree,,,",
        "t:P:#1@4,t,P,1,4,violated,Non-robust in 93 s,,unknown,10.005,timeout: the 10 s limit was reached,open-here,,,",
        't:P:#2@4,t,P,2,4,none,NA,,misclassified,,"clean prediction 8, label 3",misclassified,,,',
        f"t:P:#3@4,t,P,3,4,holds,Robust in 2 s,,violated,0.100,,they-holds-we-witness,{evidence},confirmed,torch",
    ]) + "\n")
    return path
