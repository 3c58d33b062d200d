# The Python side of scripts/bench-peers.ts: readers that are simplest in Python, run the
# same way against every tool's mount point and against the plain local copy, plus the
# chart. Each subcommand prints one JSON line with its own timing, measured inside the
# process so that interpreter start-up and `import torch` are not counted against a tool.
#
#   random FILE COUNT SEED          COUNT preads of 4 KiB at 4 KiB-aligned offsets, fixed seed
#   loader ROOT LIST WORKERS BATCH  torch DataLoader over the files named in LIST (relative to
#                                   ROOT), raw bytes, no decoding, shuffled with a fixed seed
#   chart RESULTS.json OUT.png      ours vs each peer per workload, from the bench's results
import json
import os
import random
import sys
import time


def random_reads(path, count, seed):
    size = os.path.getsize(path)
    blocks = size // 4096
    rng = random.Random(seed)
    offsets = [rng.randrange(blocks) * 4096 for _ in range(count)]
    fd = os.open(path, os.O_RDONLY)
    try:
        t = time.perf_counter()
        got = 0
        for off in offsets:
            got += len(os.pread(fd, 4096, off))
        seconds = time.perf_counter() - t
    finally:
        os.close(fd)
    print(json.dumps({"seconds": seconds, "bytes": got}))


class RawFiles:
    """A map-style dataset of whole files as bytes: what a loader does before any decoding."""

    def __init__(self, root, names):
        self.root = root
        self.names = names

    def __len__(self):
        return len(self.names)

    def __getitem__(self, i):
        with open(os.path.join(self.root, self.names[i]), "rb") as f:
            return f.read()


def keep_bytes(batch):
    # The default collate would try to turn bytes into tensors; a batch stays a list of bytes.
    return batch


def loader(root, list_file, workers, batch):
    import torch
    from torch.utils.data import DataLoader

    with open(list_file) as f:
        names = [line.rstrip("\n") for line in f if line.strip()]
    gen = torch.Generator()
    gen.manual_seed(0)
    dl = DataLoader(RawFiles(root, names), batch_size=batch, shuffle=True, generator=gen, num_workers=workers, collate_fn=keep_bytes)
    t = time.perf_counter()
    samples = 0
    nbytes = 0
    for b in dl:
        samples += len(b)
        nbytes += sum(len(x) for x in b)
    seconds = time.perf_counter() - t
    print(json.dumps({"seconds": seconds, "samples": samples, "bytes": nbytes, "torch": torch.__version__}))


def chart(results_file, out):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    with open(results_file) as f:
        data = json.load(f)
    phases = data["phases"]
    peers = data["peers"]
    width = 0.8 / max(1, len(peers))
    fig, ax = plt.subplots(figsize=(max(7, 1.1 * len(phases) + 2), 4.5))
    for i, peer in enumerate(peers):
        xs, ys = [], []
        for j, ph in enumerate(phases):
            r = ph["ratios"].get(peer)
            if r is not None:
                xs.append(j + (i - (len(peers) - 1) / 2) * width)
                ys.append(r)
        ax.bar(xs, ys, width, label=peer)
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_yscale("log")
    ax.set_xticks(range(len(phases)))
    ax.set_xticklabels([ph["label"] for ph in phases], rotation=30, ha="right", fontsize=8)
    ax.set_ylabel("quilt mount speed / other's speed (log; >1: ours faster)")
    ax.set_title(data["title"], fontsize=10)
    ax.legend(fontsize=8)
    ax.grid(axis="y", which="both", alpha=0.3)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print(json.dumps({"chart": out}))


def main(argv):
    cmd = argv[1] if len(argv) > 1 else ""
    if cmd == "random":
        random_reads(argv[2], int(argv[3]), int(argv[4]))
    elif cmd == "loader":
        loader(argv[2], argv[3], int(argv[4]), int(argv[5]))
    elif cmd == "chart":
        chart(argv[2], argv[3])
    else:
        sys.exit(f"usage: {argv[0]} random|loader|chart ...")


if __name__ == "__main__":
    main(sys.argv)
