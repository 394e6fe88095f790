"""Small batches of the bundled models' shipped properties (specs/), for the batch tests."""

from __future__ import annotations

from pathlib import Path

SPECS = Path(__file__).resolve().parents[2] / "specs"
MODELS = Path(__file__).resolve().parents[2] / "bvverify" / "models"


def write_csv(folder: Path, rows: list[tuple[str, str, float]]) -> Path:
    """An instances.csv in ``folder`` whose paths are relative to it (model stem, property file, timeout)."""
    path = folder / "instances.csv"
    lines = [f"{MODELS / (m + '.bvq')},{SPECS / p},{t:g}" for m, p, t in rows]
    path.write_text("\n".join(lines) + "\n")
    return path


QUICK = [("digits_mlp", "digits_mlp_img0_eps0.01.vnnlib", 20), ("digits_mlp", "digits_mlp_img3_eps0.01.vnnlib", 20),
         ("digits_cnn", "digits_cnn_img0_eps0.01.vnnlib", 20), ("digits_cnn", "digits_cnn_img6_eps0.04.vnnlib", 20)]


def start_worker_killer(client, key_part: str, killed: list[int], polls: int = 600):
    """A thread that SIGKILLs the dask worker running a task whose key contains ``key_part``, one second
    into it (inside the solve), and records its pid in ``killed``; it gives up after ``polls`` x 0.05 s."""
    import os
    import signal
    import threading
    import time

    def kill_when_running() -> None:
        for _ in range(polls):
            for addr, keys in client.processing().items():
                if any(key_part in str(k) for k in keys):
                    pid = client.run(os.getpid, workers=[addr])[addr]
                    time.sleep(1.0)
                    os.kill(pid, signal.SIGKILL)
                    killed.append(pid)
                    return
            time.sleep(0.05)

    t = threading.Thread(target=kill_when_running, daemon=True)
    t.start()
    return t
