"""Assembles the dashboards from the section factories, and writes their JSON.

``python -m dashboards.main`` (or ``oppchain dashboards build``) rewrites
``dashboards/json/``; a test fails when the committed files drift from this.
"""

from __future__ import annotations

from pathlib import Path

from dashboards.defaults import CURRENCY, MODEL, PLATFORM, STANDARD_VARIABLES, WORKSPACE
from dashboards.model import Dashboard
from dashboards.panels import attribution, authenticity, chains, health, relationships, roi
from dashboards.render import dumps

JSON_DIR = Path(__file__).parent / "json"


def all_dashboards() -> tuple[Dashboard, ...]:
    return (
        Dashboard(
            "oppchain-roi",
            "Social ROI overview",
            "What relationships returned (opportunities, won value, revenue) against cost.",
            (roi.headline(), roi.over_time(), roi.by_channel(), roi.all_time()),
            (*STANDARD_VARIABLES, MODEL, CURRENCY),
        ),
        Dashboard(
            "oppchain-attribution",
            "Attribution",
            "Won value credited to touches: one model by the variable, every model side by side.",
            (attribution.chosen_model(), attribution.side_by_side()),
            (*STANDARD_VARIABLES, MODEL, CURRENCY),
        ),
        Dashboard(
            "oppchain-chains",
            "Opportunity chains explorer",
            "Each opportunity's chain from first touch to close: path, days, value, introducer.",
            (chains.summary(), chains.explorer()),
            # No campaign: a chain is a path of channels; credits carry the campaigns.
            (WORKSPACE, PLATFORM, CURRENCY),
        ),
        Dashboard(
            "oppchain-relationships",
            "Relationships and karma",
            "Giving without expecting, relationship strength and who opens doors.",
            (relationships.karma(), relationships.strength(), relationships.relationships()),
            (*STANDARD_VARIABLES, CURRENCY),
        ),
        Dashboard(
            "oppchain-authenticity",
            "Authenticity: vanity vs value",
            "Follower counts and likes against conversations and opportunities.",
            (
                authenticity.vanity_vs_value(),
                authenticity.engagement_quality(),
                authenticity.flags(),
            ),
            (*STANDARD_VARIABLES, CURRENCY),
        ),
        Dashboard(
            "oppchain-pipeline",
            "Pipeline health",
            "Throughput, dead letters by reason and freshness of the pipeline.",
            (health.throughput(), health.dead_letters(), health.freshness()),
            (WORKSPACE,),
            time_from="now-7d",
        ),
    )


def rendered() -> dict[str, str]:
    """File name -> JSON text of every dashboard."""
    return {f"{d.uid}.json": dumps(d.to_json()) for d in all_dashboards()}


def build(out: Path = JSON_DIR) -> list[Path]:
    """Write every dashboard and remove files of dashboards that no longer exist."""
    out.mkdir(parents=True, exist_ok=True)
    files = rendered()
    for stale in sorted(out.glob("*.json")):
        if stale.name not in files:
            stale.unlink()
    written = []
    for name, text in sorted(files.items()):
        path = out / name
        if not path.exists() or path.read_text() != text:
            path.write_text(text)
        written.append(path)
    return written


def cmd_dashboards_build() -> int:
    for path in build():
        print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(cmd_dashboards_build())
