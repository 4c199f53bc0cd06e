"""Time utils.kmeans against scikit-learn's KMeans at equal work: same data, same initial
centres, a fixed number of Lloyd iterations, float32, the same number of CPU threads.

    python benchmarks/kmeans.py                       # 200,000 x 16, K = 32, 20 iterations, CPU
    python benchmarks/kmeans.py --n 1000000 --k 64 --device cuda

Prints both times (best of --repeat runs) and the ratio scikit-learn / ours (> 1: ours is faster).
"""

from __future__ import annotations

import argparse
import time
import warnings

import torch
from sklearn.cluster import KMeans
from threadpoolctl import threadpool_limits

from utils.kmeans import kmeans


def best_time(fn, repeat: int, sync=lambda: None) -> float:
    times = []
    for _ in range(repeat):
        sync()
        t0 = time.perf_counter()
        fn()
        sync()
        times.append(time.perf_counter() - t0)
    return min(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--n", type=int, default=200_000)
    parser.add_argument("--d", type=int, default=16)
    parser.add_argument("--k", type=int, default=32)
    parser.add_argument("--iters", type=int, default=20)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads())
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    warnings.filterwarnings("ignore", "k-means did not converge")  # a fixed number of iterations, on purpose

    g = torch.Generator().manual_seed(0)
    centres = 4 * torch.randn(args.k, args.d, generator=g)
    X = centres[torch.randint(args.k, (args.n,), generator=g)] + torch.randn(args.n, args.d, generator=g)
    start = X[torch.randperm(args.n, generator=g)[: args.k]].clone()
    device = torch.device(args.device)
    X_dev, start_dev = X.to(device), start.to(device)
    sync = torch.cuda.synchronize if device.type == "cuda" else (lambda: None)

    kmeans(X_dev, args.k, init=start_dev, max_iter=2, tol=0.0)  # warm-up
    ours = best_time(lambda: kmeans(X_dev, args.k, init=start_dev, max_iter=args.iters, tol=0.0), args.repeat, sync)
    Xn, sn = X.numpy(), start.numpy()
    with threadpool_limits(args.threads):
        ref = best_time(
            lambda: KMeans(args.k, init=sn, n_init=1, max_iter=args.iters, tol=0.0, algorithm="lloyd").fit(Xn), args.repeat
        )
    print(
        f"{args.n:,} x {args.d}, K = {args.k}, {args.iters} iterations, {args.threads} CPU thread(s): "
        f"utils.kmeans on {device} {ours:.3f} s, scikit-learn {ref:.3f} s, ratio scikit-learn/ours = {ref / ours:.2f}"
    )


if __name__ == "__main__":
    main()
