"""Helper of tests/test_robustness.py: read a large teacher cache the way training reads it, in a fresh process,
and report memory; then write a large weight log and report memory again.

    python tests/_robust_mem.py CACHE_ENTRY_DIR WEIGHTLOG_DIR LOG_ROWS

Prints one JSON line. Memory is read from /proc/self/status (kB): `private` = RssAnon + RssShmem (memory the process
owns; the kernel cannot drop it), `file` = RssFile (pages of memory-mapped files: clean page cache that the kernel
reclaims under pressure), and `ru_maxrss` (peak of private + file, from getrusage).
"""
import json, resource, sys
import numpy as np
import torch

def mem() -> dict:
    d = {}
    for line in open("/proc/self/status"):
        k, _, v = line.partition(":")
        if k in ("RssAnon", "RssFile", "RssShmem", "VmHWM"): d[k] = int(v.split()[0])
    return {"private": d["RssAnon"] + d["RssShmem"], "file": d["RssFile"], "hwm": d["VmHWM"]}

def maxrss() -> int: return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

def read_cache(entry, batch=256):
    from rmkd_nb.cache import TeacherCache
    m0, r0 = mem(), maxrss()
    cache = TeacherCache.open(entry)
    idx = np.asarray(cache.arrays("train")["idx"])
    order = np.random.default_rng(0).permutation(idx)          # shuffled, as training reads it
    peak, seen, checksum = mem()["private"], 0, 0.0
    for i, s in enumerate(range(0, len(order), batch)):
        out = cache.gather(torch.from_numpy(order[s:s + batch]), "train")
        checksum += (float(out.logits.sum()) + float(out.ce.sum())
                     + (float(out.pooled.sum()) if out.pooled is not None else 0.0))
        seen += out.logits.shape[0]
        if i % 8 == 0: peak = max(peak, mem()["private"])
    m1 = mem(); peak = max(peak, m1["private"])
    return {"examples": int(len(idx)), "seen": seen, "batches": i + 1, "checksum": checksum,
            "teachers": cache.num_teachers, "pooled_dim": cache.pooled_dim,
            "private_start_kb": m0["private"], "private_peak_kb": peak, "file_end_kb": m1["file"],
            "ru_maxrss_start_kb": r0, "ru_maxrss_end_kb": maxrss()}

def write_log(d, rows, batch=256, K=4, chunk_rows=65536):
    from rmkd_nb.weightlog import WeightLog
    m0 = mem(); wl = WeightLog(d, [f"t{k}" for k in range(K)], chunk_rows=chunk_rows)
    peak, max_buf, rng = m0["private"], 0, np.random.default_rng(0)
    w = rng.random((batch, K)).astype(np.float32); p = rng.random((batch, K)).astype(np.float32)
    a = (p > 0.5).astype(np.float32); r = rng.normal(size=batch).astype(np.float32)
    for step in range(1, rows // batch + 1):
        wl.append(step, 0, np.arange(batch) + step * batch, w, probs=p, actions=a, rewards=r)
        max_buf = max(max_buf, wl.buffered_rows)
        if step % 32 == 0: peak = max(peak, mem()["private"])
    wl.flush()
    return {"log_rows": (rows // batch) * batch, "chunk_rows": chunk_rows, "max_buffered_rows": max_buf,
            "log_private_start_kb": m0["private"], "log_private_peak_kb": peak}

if __name__ == "__main__":
    out = read_cache(sys.argv[1])
    out |= write_log(sys.argv[2], int(sys.argv[3]))
    print(json.dumps(out))
