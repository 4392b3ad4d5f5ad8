"""Plot bench.json (from bench/run.py): median time of one check vs N, log scale.

    python plot.py bench.json bench.png        (needs matplotlib)
"""

import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

STYLE = {
    "static": ("C0", "o", "-"),
    "static-proc": ("C1", "s", "-"),
    "cpython": ("C2", "^", "-"),
    "static-closed": ("C0", "o", ":"),
    "static-proc-closed": ("C1", "s", ":"),
    "cpython-clean": ("C5", "^", ":"),
    "ss": ("C4", "D", "-"),
    "floor": ("k", "x", "--"),
    "floor-bc": ("0.4", "+", "--"),
    "empty": ("0.6", ".", ":"),
}

LABEL = {"ss": "ss -Hltn / -Hlun 'sport = :PORT' (iproute2)"}


def panel(ax, r, group, xs, title, xlabel):
    pos = list(range(len(xs)))
    for suffix, (color, marker, ls) in STYLE.items():
        k = group + "-" + suffix
        rows = r[group].get(k)
        if not rows:
            continue
        pts = [(i, rows[str(x)]) for i, x in zip(pos, xs) if str(x) in rows]
        if not pts:
            continue
        med = [s["median"] for _, s in pts]
        lo = [s["median"] - s["p10"] for _, s in pts]
        hi = [s["p90"] - s["median"] for _, s in pts]
        ax.errorbar([i for i, _ in pts], med, yerr=[lo, hi], color=color, marker=marker,
                    linestyle=ls, capsize=3, label=LABEL.get(suffix, r["methods"][k]))
    if group == "tcp" and r.get("inproc"):
        for b, color in (("netlink", "C8"), ("proc", "C3")):
            rows = r["inproc"].get(b)
            if rows:
                pts = [(i, rows[str(x)]["median"]) for i, x in zip(pos, xs) if str(x) in rows]
                ax.plot([p for p, _ in pts], [m for _, m in pts], color=color, marker="v",
                        linestyle="-.", label="CPython in-process check (%s)" % b)
    ax.set_yscale("log")
    ax.set_xticks(pos)
    ax.set_xticklabels(["{:,}".format(x) for x in xs])
    ax.set_xlabel(xlabel)
    ax.set_ylabel("ms per check (median; bars p10–p90)")
    ax.set_title(title)
    ax.grid(True, which="both", axis="y", alpha=0.3)


def main(src, dst):
    r = json.load(open(src))
    fig, (a1, a2) = plt.subplots(1, 2, figsize=(13, 5.5), gridspec_kw={"width_ratios": [3, 2]})
    panel(a1, r, "tcp", r["Ns"], "TCP: one check vs established connections",
          "N established TCP connections (categories, not to scale)")
    panel(a2, r, "udp", [0, r["M"]], "UDP: one check vs bound UDP sockets", "M other bound UDP sockets")
    handles, labels = a1.get_legend_handles_labels()
    h2, l2 = a2.get_legend_handles_labels()
    for handle, label in zip(h2, l2):
        if label not in labels:
            handles.append(handle)
            labels.append(label)
    fig.legend(handles, labels, loc="lower center", ncol=3, fontsize=8, frameon=False)
    m = r.get("machine", {})
    fig.suptitle("healthcheck: cost of one check (%s; %s)" % (m.get("date", ""), m.get("cpu", "")),
                 fontsize=10)
    fig.tight_layout(rect=(0, 0.13, 1, 0.95))
    fig.savefig(dst, dpi=110)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2]))
