#!/usr/bin/env python3
"""BENCHMARKS.md and its plots, from the JSON results of `make bench`.

    python3 scripts/bench-report.py [RESULTS_DIR] [--md FILE] [--plots DIR]

Reads every RESULTS_DIR/*.json (default: benchmarks/results), one file per bench, and writes
BENCHMARKS.md at the root of the checkout and one SVG grouped bar chart per bench and metric
into benchmarks/ (`<bench>-<metric>.svg`; the idle and after-N RSS of a bench share one chart,
`<bench>-rss_mib.svg`). SVGs in that directory that this run did not write are removed. The
output depends only on the results files, so an unchanged run regenerates identical files. A
bench whose file is missing is left out; a file that cannot be read is reported and skipped.
Python 3.11, standard library only.

A results file:

    {"bench": "node-express", "title": "...",
     "machine": {"cpu": "...", "cores": 2, "memory_gib": 24, "os": "Linux 6.1",
                 "runtimes": {"node": "v20.20.2", "dynamodb_local": "3.3.1", ...}},
     "date": "2026-12-07T01:23:45Z", "method": "one paragraph",
     "baseline": "connect-redis 10",            # the store ratios are taken against, or null
     "stores": ["MemoryStore", "connect-redis 10", ...],
     "figures": [{"scenario": "...", "store": "...", "metric": "cpu_us_per_request",
                  "median": 532.1, "runs": [530.0, 532.1, 540.2]}],
     "targets": [{"scenario": "...", "metric": "...", "store": "...", "against": "...",
                  "max_ratio": 1.25}],
     "notes": ["..."]}

A target is judged on the medians: `max_ratio` / `min_ratio` compare the store's median with
the median of `against` (default: the baseline) in the same scenario; `max_value` / `min_value`
compare the store's median itself (e.g. an RSS growth of at most 1 MiB).
"""

from __future__ import annotations

import argparse
import html
import json
import math
import os
import re
import sys
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TIMES = "\u00d7"  # the multiplication sign of ratios
MISSING = "\u2013"  # an en dash, for a figure that was not measured

# Metric name -> (what it is, unit, which way is better). Units are fixed by the name.
METRICS: dict[str, tuple[str, str, str]] = {
    "cpu_us_per_request": ("CPU per request", "µs", "lower"),
    "cpu_us_per_request_net": ("CPU per request, net of the framework floor", "µs", "lower"),
    "cpu_us_per_call": ("CPU per call", "µs", "lower"),
    "requests_per_second": ("Requests per second", "req/s", "higher"),
    "dynamodb_requests_per_request": ("DynamoDB requests per request", "requests", "lower"),
    "rcu_per_request": ("Read capacity units per request", "RCU", "lower"),
    "wcu_per_request": ("Write capacity units per request", "WCU", "lower"),
    "rss_mib_idle": ("RSS when idle", "MiB", "lower"),
    "rss_mib_after": ("RSS after the calls", "MiB", "lower"),
    "rss_mib_growth": ("RSS growth after warm-up", "MiB", "lower"),
    "ratio": ("Ratio", TIMES, "lower"),
}
# The RSS metrics drawn together in one chart.
RSS_LEVELS = ("rss_mib_idle", "rss_mib_after")

# Colour-blind-safe palette (Okabe-Ito, reordered), one colour per store in a bench's order.
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999"]


def bench_rank(name: str) -> tuple[int, str]:
    """The order of the benches in the report: the apps first, then the core, then memory."""
    if name.endswith("-memory"):
        rank = 4
    elif name.startswith("node-"):
        rank = 0
    elif name.startswith("python-"):
        rank = 1
    elif name == "core":
        rank = 2
    elif name == "at-rest":
        rank = 3
    else:
        rank = 5
    return (rank, name)


def metric_rank(metric: str) -> tuple[int, str]:
    order = list(METRICS)
    return (order.index(metric) if metric in order else len(order), metric)


def metric_info(metric: str) -> tuple[str, str, str]:
    return METRICS.get(metric, (metric.replace("_", " "), "", "lower"))


def decimals_for(values: list[float]) -> int:
    """The decimals that the figures of one metric are shown with: whole numbers as such,
    else fewer for larger figures."""
    if not values:
        return 0
    magnitude = max(abs(v) for v in values)
    if magnitude >= 1 and all(float(v).is_integer() for v in values):
        return 0
    return 0 if magnitude >= 100 else 1 if magnitude >= 10 else 2


def fmt(value: float | None, decimals: int | None = None) -> str:
    """A figure with `decimals` decimals, or as many as it deserves."""
    if value is None or not isinstance(value, (int, float)) or math.isnan(value):
        return MISSING
    if decimals is not None:
        return f"{value:,.{decimals}f}"
    magnitude = abs(value)
    if float(value).is_integer():
        return f"{value:,.0f}"
    if magnitude >= 1000:
        return f"{value:,.0f}"
    if magnitude >= 100:
        return f"{value:.0f}"
    if magnitude >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def lower_first(text: str) -> str:
    """`text` with its first letter in lower case, unless it starts an acronym ("CPU")."""
    if len(text) > 1 and text[1].isupper():
        return text
    return text[:1].lower() + text[1:]


def fmt_ratio(ratio: float) -> str:
    return f"{ratio:.2f}{TIMES}"


def with_unit(value: float | None, unit: str, decimals: int | None = None) -> str:
    text = fmt(value, decimals)
    if not unit or text == MISSING:
        return text
    return f"{text}{TIMES}" if unit == TIMES else f"{text} {unit}"


def md_escape(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def dynamodb_local_version() -> str | None:
    """The DynamoDB Local version scripts/dynamodb-local.sh runs, for results that omit it."""
    try:
        script = (ROOT / "scripts" / "dynamodb-local.sh").read_text()
    except OSError:
        return None
    found = re.search(r"^jar_version=(\S+)$", script, re.M)
    return found.group(1) if found else None


def machine_label(machine: dict) -> str:
    """ "2 cores, AMD EPYC, DynamoDB Local 3.3.1" """
    parts = []
    cores = machine.get("cores")
    if cores:
        parts.append(f"{cores} cores")
    if machine.get("cpu"):
        parts.append(str(machine["cpu"]))
    runtimes = machine.get("runtimes") or {}
    local = (
        machine.get("dynamodb_local") or runtimes.get("dynamodb_local") or dynamodb_local_version()
    )
    if local:
        parts.append(f"DynamoDB Local {local}")
    return ", ".join(parts) or "unknown machine"


def machine_details(machine: dict) -> str:
    parts = []
    if machine.get("memory_gib"):
        parts.append(f"{fmt(machine['memory_gib'])} GiB")
    if machine.get("os"):
        parts.append(str(machine["os"]))
    runtimes = machine.get("runtimes") or {}
    for name in sorted(runtimes):
        if name != "dynamodb_local" and runtimes[name]:
            parts.append(f"{name} {runtimes[name]}")
    return ", ".join(parts)


def pretty_date(date: str | None) -> str:
    if not date:
        return "undated"
    found = re.match(r"(\d{4}-\d{2}-\d{2})T(\d{2}:\d{2})", date)
    return f"{found.group(1)} {found.group(2)} UTC" if found else str(date)


class Bench:
    """One results file, indexed."""

    def __init__(self, data: dict, path: Path):
        self.path = path
        self.name = str(data.get("bench") or path.stem)
        self.title = str(data.get("title") or self.name)
        self.machine = data.get("machine") or {}
        self.date = data.get("date")
        self.method = data.get("method") or ""
        self.baseline = data.get("baseline")
        self.notes = [str(n) for n in data.get("notes") or []]
        self.targets = [t for t in data.get("targets") or [] if isinstance(t, dict)]
        figures = [f for f in data.get("figures") or [] if isinstance(f, dict)]
        self.stores: list[str] = [str(s) for s in data.get("stores") or []]
        for f in figures:
            if str(f.get("store")) not in self.stores:
                self.stores.append(str(f.get("store")))
        self.medians: dict[tuple[str, str, str], float] = {}
        self.scenarios: dict[str, list[str]] = {}  # metric -> scenarios, first seen first
        for f in figures:
            metric, scenario, store = (
                str(f.get("metric")),
                str(f.get("scenario")),
                str(f.get("store")),
            )
            median = f.get("median")
            if not isinstance(median, (int, float)) or isinstance(median, bool):
                continue
            self.medians[(metric, scenario, store)] = float(median)
            self.scenarios.setdefault(metric, [])
            if scenario not in self.scenarios[metric]:
                self.scenarios[metric].append(scenario)
        self.metrics = sorted(self.scenarios, key=metric_rank)

    def decimals(self, metrics: list[str]) -> int:
        return decimals_for([v for (m, _, _), v in self.medians.items() if m in metrics])

    def median(self, metric: str, scenario: str, store: str | None) -> float | None:
        if store is None:
            return None
        return self.medians.get((metric, scenario, store))

    def ratio(self, metric: str, scenario: str, store: str, against: str | None) -> float | None:
        value = self.median(metric, scenario, store)
        base = self.median(metric, scenario, against)
        if value is None or base is None or base == 0 or store == against or metric == "ratio":
            return None
        return value / base

    def stores_of(self, metrics: list[str]) -> list[str]:
        return [s for s in self.stores if any(k[0] in metrics and k[2] == s for k in self.medians)]


def load(results: Path) -> list[Bench]:
    benches = []
    for path in sorted(results.glob("*.json")):
        try:
            data = json.loads(path.read_text())
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            benches.append(Bench(data, path))
        except (OSError, ValueError) as e:
            print(f"bench-report: skipping {path}: {e}", file=sys.stderr)
    benches.sort(key=lambda b: bench_rank(b.name))
    return benches


# -- targets -------------------------------------------------------------------------------


def judge(bench: Bench, target: dict) -> dict:
    """What a target asks, what was measured and whether it is met (None: no figure)."""
    metric = str(target.get("metric"))
    scenario = str(target.get("scenario"))
    store = str(target.get("store"))
    against = target.get("against") or bench.baseline
    label, unit, _ = metric_info(metric)
    value = bench.median(metric, scenario, store)
    result = {"bench": bench, "met": None, "measured": "no figure"}
    if "max_ratio" in target or "min_ratio" in target:
        limit_key = "max_ratio" if "max_ratio" in target else "min_ratio"
        limit = float(target[limit_key])
        sign = "≤" if limit_key == "max_ratio" else "≥"
        result["asks"] = (
            f"{store} {sign} {fmt_ratio(limit)} {against}: {lower_first(label)}, {scenario}"
        )
        base = bench.median(metric, scenario, against)
        if value is not None and base:
            ratio = value / base
            d = bench.decimals([metric])
            result["measured"] = (
                f"{fmt_ratio(ratio)} ({with_unit(value, unit, d)} vs {with_unit(base, unit, d)})"
            )
            result["met"] = ratio <= limit if limit_key == "max_ratio" else ratio >= limit
    elif "max_value" in target or "min_value" in target:
        limit_key = "max_value" if "max_value" in target else "min_value"
        limit = float(target[limit_key])
        sign = "≤" if limit_key == "max_value" else "≥"
        result["asks"] = (
            f"{store}: {lower_first(label)} {sign} {with_unit(limit, unit)}, {scenario}"
        )
        if value is not None:
            result["measured"] = with_unit(value, unit, bench.decimals([metric]))
            result["met"] = value <= limit if limit_key == "max_value" else value >= limit
    else:
        result["asks"] = f"{store}: {lower_first(label)}, {scenario} (no limit given)"
    return result


def verdict(met: bool | None) -> str:
    return {True: "met", False: "**not met**", None: "not measured"}[met]


# -- SVG -----------------------------------------------------------------------------------


def text_width(text: str, size: float, bold: bool = False) -> float:
    """A rough (generous) width of `text` in a sans-serif font of `size` px."""
    wide = sum(1 for c in text if c.isupper() or c in "mwMW@%")
    narrow = sum(1 for c in text if c in "il.,:;!|' ()[]1-")
    width = size * (0.58 * (len(text) - wide - narrow) + 0.78 * wide + 0.32 * narrow)
    return width * (1.1 if bold else 1.0)


def wrap(text: str, size: float, width: float, bold: bool = False) -> list[str]:
    """`text` broken into lines no wider than `width` (at spaces)."""
    lines: list[str] = []
    current = ""
    for word in text.split(" "):
        trial = f"{current} {word}".strip()
        if current and text_width(trial, size, bold) > width:
            lines.append(current)
            current = word
        else:
            current = trial
    if current:
        lines.append(current)
    return lines or [""]


def nice_ticks(low: float, high: float, count: int = 5) -> list[float]:
    """Round tick values covering [low, high]."""
    span = high - low
    if span <= 0:
        span = abs(high) or 1.0
    raw = span / count
    power = 10 ** math.floor(math.log10(raw))
    step = next(m * power for m in (1, 2, 2.5, 5, 10) if m * power >= raw)
    # Only the ticks inside [low, high]: the scale ends at the largest figure.
    first = math.ceil(low / step - 1e-9)
    last = math.floor(high / step + 1e-9)
    return [round(i * step, 10) + 0.0 for i in range(first, last + 1)]


def esc(text: str) -> str:
    return html.escape(str(text), quote=True)


def bar_chart(bench: Bench, panel: Panel) -> str:
    """A grouped horizontal bar chart: one group per scenario, one bar per store."""
    metrics, unit, better = panel.metrics, panel.unit, panel.better
    title, axis = panel.title(bench), panel.heading
    groups: list[tuple[str, str]] = []  # (metric, scenario)
    for metric in metrics:
        for scenario in bench.scenarios.get(metric, []):
            groups.append((metric, scenario))
    stores = bench.stores_of(metrics)
    values = [v for (m, _, _), v in bench.medians.items() if m in metrics]
    colour = {s: PALETTE[i % len(PALETTE)] for i, s in enumerate(bench.stores)}
    decimals = bench.decimals(metrics)

    width = 820
    pad = 16
    font = "DejaVu Sans, Helvetica, Arial, sans-serif"
    label_size, value_size = 12, 11
    label_width = min(230.0, max(text_width(s, label_size) for _, s in groups) + 8)
    value_room = (
        max(
            text_width(bar_text(bench, m, s, st, unit, decimals), value_size) * 1.08
            for m, s in groups
            for st in stores
            if bench.median(m, s, st) is not None
        )
        + 10
    )
    # Negative figures (an RSS that shrank) are labelled left of their bars.
    plot_left = pad + label_width + 10 + (value_room if min(values) < 0 else 0)
    plot_right = width - pad - (value_room if max(values) > 0 else 0)
    bar_height, bar_gap, group_gap = 17, 3, 16

    # Title, subtitle, legend.
    parts: list[str] = []
    y = pad + 14
    title_lines = wrap(title, 15, width - 2 * pad, bold=True)
    for line in title_lines:
        parts.append(f'<text x="{pad}" y="{y}" class="title">{esc(line)}</text>')
        y += 19
    subtitle = f"{machine_label(bench.machine)} · {pretty_date(bench.date)}"
    for line in wrap(subtitle, 12, width - 2 * pad):
        parts.append(f'<text x="{pad}" y="{y}" class="subtitle">{esc(line)}</text>')
        y += 16
    y += 6
    x = pad
    for store in stores:
        item_width = 14 + 6 + text_width(store, 12) + 18
        if x + item_width > width - pad and x > pad:
            x = pad
            y += 18
        parts.append(
            f'<rect x="{x}" y="{y - 10}" width="12" height="12" rx="2" fill="{colour[store]}"/>'
            f'<text x="{x + 18}" y="{y}" class="legend">{esc(store)}</text>'
        )
        x += item_width
    y += 16

    # Scale: from 0 (or below, for negative figures) to the largest figure.
    low = min(0.0, min(values))
    high = max(0.0, max(values))
    if metrics == ["rss_mib_growth"]:
        # A growth is read against a MiB either way: a flat line near zero is no growth.
        low, high = min(low, -1.0), max(high, 1.0)
    if high == low:
        high = low + 1.0
    ticks = nice_ticks(low, high)
    tick_decimals = next(d for d in range(6) if all(abs(round(t, d) - t) < 1e-9 for t in ticks))
    scale = (plot_right - plot_left) / (high - low)

    def px(value: float) -> float:
        return plot_left + (value - low) * scale

    plot_top = y
    group_heights = []
    for metric, scenario in groups:
        present = [s for s in stores if bench.median(metric, scenario, s) is not None]
        lines = wrap(scenario, label_size, label_width)
        bars = len(present) * bar_height + (len(present) - 1) * bar_gap
        group_heights.append(max(bars, len(lines) * 15))
    plot_bottom = plot_top + sum(group_heights) + group_gap * len(groups)

    # Grid and ticks.
    for tick in ticks:
        tx = px(tick)
        tick_label = esc(fmt(tick, tick_decimals))
        parts.append(
            f'<line x1="{tx:.1f}" y1="{plot_top}" x2="{tx:.1f}" y2="{plot_bottom}" class="grid"/>'
            f'<text x="{tx:.1f}" y="{plot_bottom + 15}" class="tick">{tick_label}</text>'
        )
    zero = px(0.0)
    parts.append(
        f'<line x1="{zero:.1f}" y1="{plot_top}" x2="{zero:.1f}" y2="{plot_bottom}" class="axis"/>'
    )

    # Bars.
    y = plot_top + group_gap / 2
    for (metric, scenario), height in zip(groups, group_heights, strict=True):
        present = [s for s in stores if bench.median(metric, scenario, s) is not None]
        bars = len(present) * bar_height + (len(present) - 1) * bar_gap
        lines = wrap(scenario, label_size, label_width)
        label_top = y + height / 2 - (len(lines) - 1) * 15 / 2 + 4
        for i, line in enumerate(lines):
            ly = label_top + i * 15
            parts.append(
                f'<text x="{pad + label_width:.1f}" y="{ly:.1f}" class="label">{esc(line)}</text>'
            )
        by = y + (height - bars) / 2
        for store in present:
            value = bench.median(metric, scenario, store)
            assert value is not None
            x0, x1 = sorted((zero, px(value)))
            bar_w = max(x1 - x0, 1.0)
            label = esc(bar_text(bench, metric, scenario, store, unit, decimals))
            parts.append(
                f'<rect x="{x0:.1f}" y="{by:.1f}" width="{bar_w:.1f}" height="{bar_height}" '
                f'fill="{colour[store]}"><title>{esc(store)}: {label}</title></rect>'
            )
            tx = x1 + 5 if value >= 0 else x0 - 5
            anchor = "start" if value >= 0 else "end"
            parts.append(
                f'<text x="{tx:.1f}" y="{by + bar_height - 4.5:.1f}" class="value" '
                f'text-anchor="{anchor}">{label}</text>'
            )
            by += bar_height + bar_gap
        y += height + group_gap

    # Axis label.
    hint = {"lower": "lower is better", "higher": "higher is better"}.get(better, "")
    axis_text = f"{axis} ({unit})" if unit and unit != TIMES else axis
    if hint:
        axis_text += f", {hint}"
    ratio_hint = f"; ratios against {bench.baseline}" if bench.baseline and len(stores) > 1 else ""
    parts.append(
        f'<text x="{(plot_left + plot_right) / 2:.1f}" y="{plot_bottom + 34}" class="axislabel">'
        f"{esc(axis_text + ratio_hint)}</text>"
    )
    height = plot_bottom + 34 + pad

    style = (
        f"text{{font-family:{font};fill:#222}}"
        ".title{font-size:15px;font-weight:bold}"
        ".subtitle{font-size:12px;fill:#555}"
        ".legend{font-size:12px}"
        ".label{font-size:12px;text-anchor:end}"
        ".value{font-size:11px;fill:#333}"
        ".tick{font-size:11px;fill:#666;text-anchor:middle}"
        ".axislabel{font-size:12px;fill:#444;text-anchor:middle}"
        ".grid{stroke:#e4e4e4;stroke-width:1}"
        ".axis{stroke:#888;stroke-width:1}"
    )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height:.0f}" '
        f'viewBox="0 0 {width} {height:.0f}" role="img" aria-label="{esc(title)}">\n'
        f"<style>{style}</style>\n"
        f'<rect width="100%" height="100%" fill="#fff"/>\n' + "\n".join(parts) + "\n</svg>\n"
    )


def bar_text(bench: Bench, metric: str, scenario: str, store: str, unit: str, decimals: int) -> str:
    value = bench.median(metric, scenario, store)
    text = with_unit(value, unit, decimals)
    ratio = bench.ratio(metric, scenario, store, bench.baseline)
    return f"{text} ({fmt_ratio(ratio)})" if ratio is not None else text


@dataclass
class Panel:
    """A table of a bench's section and its chart: one metric, or the RSS levels together."""

    file: str  # the SVG's file name
    metrics: list[str]
    heading: str  # what is measured
    unit: str
    better: str

    def title(self, bench: Bench) -> str:
        return f"{bench.title}: {lower_first(self.heading)}"


def panels(bench: Bench) -> list[Panel]:
    out = []
    rss = [m for m in RSS_LEVELS if m in bench.metrics]
    for metric in bench.metrics:
        if metric in rss and len(rss) > 1:
            if metric == rss[0]:
                out.append(
                    Panel(f"{bench.name}-rss_mib.svg", rss, "Resident set size", "MiB", "lower")
                )
            continue
        label, unit, better = metric_info(metric)
        out.append(Panel(f"{bench.name}-{metric}.svg", [metric], label, unit, better))
    return out


# -- Markdown ------------------------------------------------------------------------------


def results_name(path: Path) -> str:
    """A results file as the report names it: from the root of the checkout when it is inside."""
    try:
        return path.resolve().relative_to(ROOT).as_posix()
    except ValueError:
        return path.name


def bench_section(bench: Bench, plot_links: dict[str, str]) -> list[str]:
    md = [f"## {md_escape(bench.title)}", ""]
    details = machine_details(bench.machine)
    md.append(
        f"**Machine:** {md_escape(machine_label(bench.machine))}"
        + (f" ({md_escape(details)})" if details else "")
        + "  "
    )
    md.append(f"**Date:** {pretty_date(bench.date)}  ")
    md.append(f"**Results:** `{results_name(bench.path)}`")
    md.append("")
    if bench.method:
        md += [f"**Method.** {bench.method}", ""]
    for panel in panels(bench):
        stores = bench.stores_of(panel.metrics)
        decimals = bench.decimals(panel.metrics)
        unit = panel.unit
        md += [f"### {panel.heading}" + (f" ({unit})" if unit and unit != TIMES else ""), ""]
        if bench.baseline and bench.baseline in stores and len(stores) > 1:
            note = (
                f"Cells: median (ratio to {md_escape(bench.baseline)}); {panel.better} is better."
            )
        else:
            note = f"Cells: median; {panel.better} is better."
        md += [note, ""]
        md.append("| scenario | " + " | ".join(md_escape(s) for s in stores) + " |")
        md.append("|---|" + "---:|" * len(stores))
        for metric in panel.metrics:
            for scenario in bench.scenarios[metric]:
                cells = []
                for store in stores:
                    value = bench.median(metric, scenario, store)
                    ratio = bench.ratio(metric, scenario, store, bench.baseline)
                    ratio_text = f" ({fmt_ratio(ratio)})" if ratio is not None else ""
                    cells.append(fmt(value, decimals) + ratio_text)
                md.append(f"| {md_escape(scenario)} | " + " | ".join(cells) + " |")
        md.append("")
        if panel.file in plot_links:
            md += [f"![{md_escape(panel.heading)}]({plot_links[panel.file]})", ""]
    if bench.targets:
        md += ["### Targets", ""]
        for target in bench.targets:
            judged = judge(bench, target)
            md.append(
                f"- {md_escape(judged['asks'])}: {judged['measured']}, {verdict(judged['met'])}"
            )
        md.append("")
    if bench.notes:
        md += ["### Notes", ""]
        md += [f"- {note}" for note in bench.notes]
        md.append("")
    return md


def report(benches: list[Bench], md_path: Path, plots: Path) -> None:
    plots.mkdir(parents=True, exist_ok=True)
    written: set[str] = set()
    sections: list[str] = []
    for bench in benches:
        links: dict[str, str] = {}
        for panel in panels(bench):
            (plots / panel.file).write_text(bar_chart(bench, panel))
            written.add(panel.file)
            links[panel.file] = Path(os.path.relpath(plots / panel.file, md_path.parent)).as_posix()
        sections += bench_section(bench, links)
    for stale in sorted(plots.glob("*.svg")):
        if stale.name not in written:
            stale.unlink()

    md = [
        "# Benchmarks",
        "",
        (
            "Generated by `scripts/bench-report.py` from the JSON results of `make bench` "
            "(`benchmarks/results/`); run `make bench` to measure again and regenerate this file "
            "and its plots. Every figure is a median over interleaved repetitions of one run on "
            "the machine named in its section; ratios are taken against the baseline measured in "
            "the same run."
        ),
        "",
        "## Summary",
        "",
    ]
    judged = [judge(b, t) for b in benches for t in b.targets]
    if judged:
        md += ["| bench | target | measured | result |", "|---|---|---|---|"]
        for j in judged:
            cells = [md_escape(j["bench"].title), md_escape(j["asks"]), md_escape(j["measured"])]
            md.append("| " + " | ".join([*cells, verdict(j["met"])]) + " |")
        met = sum(1 for j in judged if j["met"])
        md += ["", f"{met} of {len(judged)} targets met."]
    else:
        md.append("No targets in these results.")
    md.append("")
    if benches:
        md += ["Benches in this report:", ""]
        md += [f"- [{md_escape(b.title)}](#{anchor(b.title)}) (`{b.path.name}`)" for b in benches]
        md.append("")
    else:
        md += ["No results found.", ""]
    md += sections
    md_path.write_text("\n".join(md).rstrip() + "\n")


def anchor(title: str) -> str:
    """GitHub's anchor of a heading."""
    text = title.strip().lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("results", nargs="?", default=str(ROOT / "benchmarks" / "results"))
    parser.add_argument(
        "--md", default=str(ROOT / "BENCHMARKS.md"), help="the Markdown file to write"
    )
    parser.add_argument(
        "--plots", default=str(ROOT / "benchmarks"), help="the directory of the SVG plots"
    )
    args = parser.parse_args()
    results = Path(args.results)
    benches = load(results) if results.is_dir() else []
    if not benches:
        # Never replace a report with an empty one: a mistyped directory would wipe it.
        print(f"bench-report: no results in {results}: nothing written", file=sys.stderr)
        return 1
    md_path = Path(args.md)
    report(benches, md_path, Path(args.plots))
    print(f"bench-report: {len(benches)} benches -> {md_path}, plots in {args.plots}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
