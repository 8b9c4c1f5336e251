"""The kinds of panel the govbus dashboards are made of, built with grafana-foundation-sdk's builders (never written
as JSON by hand): a time series of queries, the p50/p95/p99 of a histogram, a single stat, and a table whose columns
are instant queries merged on their labels; :func:`dashboard` lays the sections out and numbers the panels.

Every query reads the dashboard's ``datasource`` variable (a Prometheus data source, the provisioned one by default),
so the same JSON works against any Prometheus that scrapes govbus. Queries get the reference ids A, B, C... in order,
and rates use ``$__rate_interval``, which Grafana sizes to the scrape interval.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from grafana_foundation_sdk.builders.common import (
    ReduceDataOptions,
    TableSortByFieldState,
    VizLegendOptions,
    VizTooltipOptions,
)
from grafana_foundation_sdk.builders.dashboard import (
    Dashboard,
    DashboardLink,
    DatasourceVariable,
    Row,
    ThresholdsConfig,
)
from grafana_foundation_sdk.builders.prometheus import Dataquery
from grafana_foundation_sdk.builders.stat import Panel as StatPanel
from grafana_foundation_sdk.builders.table import Panel as TablePanel
from grafana_foundation_sdk.builders.timeseries import Panel as TimeseriesPanel
from grafana_foundation_sdk.cog.builder import Builder
from grafana_foundation_sdk.models import dashboard as model
from grafana_foundation_sdk.models.common import (
    BigValueColorMode,
    BigValueGraphMode,
    LegendDisplayMode,
    LegendPlacement,
    SortOrder,
    TableCellDisplayMode,
    TooltipDisplayMode,
)
from grafana_foundation_sdk.models.prometheus import PromQueryFormat

RATE_WINDOW = "$__rate_interval"
DATASOURCE = model.DataSourceRef(type_val="prometheus", uid="${datasource}")
QUANTILES = (0.5, 0.95, 0.99)
FLAG = {"0": model.ValueMappingResult(text="no", color="green", index=0),
        "1": model.ValueMappingResult(text="yes", color="red", index=1)}
"""how a 0/1 gauge (silent, never published) reads in a table"""
HIDDEN_COLUMNS = ("Time", "__name__", "instance", "job")
"""the labels Prometheus adds to every series, left out of tables"""
REF_IDS = "ABCDEFGHIJ"

PanelBuilder = Builder[model.Panel]
Steps = tuple[tuple[float | None, str], ...]
"""thresholds: (from this value on, colour), the first from minus infinity (None)"""
RED_FROM_ONE: Steps = ((None, "green"), (1, "red"))
"""a count that should be 0"""
NEUTRAL: Steps = ((None, "blue"),)


@dataclass(frozen=True)
class Query:
    """One PromQL expression and its legend (``{{label}}`` is replaced by the label's value)."""

    expr: str
    legend: str = ""


@dataclass(frozen=True)
class Column:
    """One value column of a table: an instant query whose series are matched with the other columns' by labels."""

    header: str
    expr: str
    unit: str = "none"
    flag: bool = False
    """a 0/1 gauge, shown as no/yes on a green/red background"""
    decimals: int | None = None
    colors: Steps | None = None
    """thresholds that colour the cell's background"""


@dataclass(frozen=True)
class Section:
    """A row of the dashboard: a title and its panels, laid left to right, 24 columns a line."""

    title: str
    panels: Sequence[PanelBuilder] = field(default_factory=tuple)


def rate(metric: str, by: str, selector: str = "") -> str:
    """Per-second rate of a counter (or of a gauge that only grows, like an end offset), summed by ``by``."""
    return f"sum by ({by}) (rate({metric}{selector}[{RATE_WINDOW}]))"


def _target(query: Query, index: int) -> Dataquery:
    return Dataquery().expr(query.expr).legend_format(query.legend).ref_id(REF_IDS[index])


def timeseries(title: str, description: str, unit: str, *queries: Query, width: int = 12) -> TimeseriesPanel:
    """A time series panel of ``queries``, with a legend table of each series' mean, max and last value."""
    panel = (TimeseriesPanel().title(title).description(description).unit(unit).datasource(DATASOURCE)
             .span(width).height(8).min(0)
             .legend(VizLegendOptions().display_mode(LegendDisplayMode.TABLE).placement(LegendPlacement.BOTTOM)
                     .show_legend(True).calcs(["mean", "max", "lastNotNull"]))
             .tooltip(VizTooltipOptions().mode(TooltipDisplayMode.MULTI).sort(SortOrder.DESCENDING)))
    for index, query in enumerate(queries):
        panel = panel.with_target(_target(query, index))
    return panel


def quantiles(title: str, description: str, histogram: str, by: str) -> TimeseriesPanel:
    """p50, p95 and p99 of a Prometheus histogram (``histogram`` without ``_bucket``), per value of ``by``."""
    buckets = rate(f"{histogram}_bucket", f"le, {by}")
    label = f" {{{{{by}}}}}"
    queries = [Query(f"histogram_quantile({q}, {buckets})", f"p{round(q * 100)}{label}") for q in QUANTILES]
    return timeseries(title, description, "s", *queries)


def _thresholds(steps: Steps) -> ThresholdsConfig:
    return ThresholdsConfig().mode(model.ThresholdsMode.ABSOLUTE).steps(
        [model.Threshold(value=value, color=color) for value, color in steps])


def stat(title: str, description: str, expr: str, unit: str = "none", steps: Steps = RED_FROM_ONE) -> StatPanel:
    """One number (the last value of ``expr``) on a background coloured by ``steps``."""
    return (StatPanel().title(title).description(description).unit(unit).datasource(DATASOURCE)
            .span(6).height(4).thresholds(_thresholds(steps))
            .color_mode(BigValueColorMode.BACKGROUND).graph_mode(BigValueGraphMode.NONE)
            .reduce_options(ReduceDataOptions().calcs(["lastNotNull"]).values(False))
            .with_target(_target(Query(expr), 0)))


def _value_field(columns: Sequence[Column], index: int) -> str:
    """The name Grafana gives a table query's value: ``Value`` alone, ``Value #A`` beside others."""
    return "Value" if len(columns) == 1 else f"Value #{REF_IDS[index]}"


def _column_properties(column: Column) -> list[model.DynamicConfigValue]:
    properties = [model.DynamicConfigValue(id_val="unit", value=column.unit)]
    if column.decimals is not None:
        properties.append(model.DynamicConfigValue(id_val="decimals", value=column.decimals))
    if column.flag:
        properties.append(model.DynamicConfigValue(id_val="mappings", value=[model.ValueMap(options=FLAG)]))
    if column.colors is not None:
        properties.append(model.DynamicConfigValue(id_val="thresholds", value=_thresholds(column.colors).build()))
    if column.flag or column.colors is not None:
        properties.append(model.DynamicConfigValue(id_val="custom.cellOptions",
                                                   value={"type": TableCellDisplayMode.COLOR_BACKGROUND.value}))
    return properties


def table(title: str, description: str, *columns: Column, sort: int = 0, descending: bool = True,
          width: int = 24) -> TablePanel:
    """A table with one row per label set and one value column per :class:`Column` (instant queries merged on their
    labels; Prometheus's own labels hidden), sorted by the column at index ``sort``."""
    panel = (TablePanel().title(title).description(description).datasource(DATASOURCE).span(width).height(9)
             .sort_by([TableSortByFieldState().display_name(columns[sort].header).desc(descending)]))
    renames = {}
    for index, column in enumerate(columns):
        query = _target(Query(column.expr), index).instant().format(PromQueryFormat.TABLE)
        panel = panel.with_target(query).override_by_name(column.header, _column_properties(column))
        renames[_value_field(columns, index)] = column.header
    organize = {"excludeByName": dict.fromkeys(HIDDEN_COLUMNS, True), "renameByName": renames}
    return (panel.with_transformation(model.DataTransformerConfig(id_val="merge", options={}))
            .with_transformation(model.DataTransformerConfig(id_val="organize", options=organize)))


def dashboard(uid: str, title: str, description: str, sections: Sequence[Section]) -> model.Dashboard:
    """The dashboard ``uid`` (its file name too): the sections in order, panels numbered from 1, refreshed every 30 s,
    the last 6 hours shown, a ``datasource`` variable defaulting to the Prometheus data source, and a menu of the
    other govbus dashboards (same time range and data source)."""
    builder = (Dashboard(title).uid(uid).description(description).tags(["govbus"]).refresh("30s")
               .time("now-6h", "now").timezone("browser").readonly()
               .with_variable(DatasourceVariable("datasource").label("Prometheus").type("prometheus"))
               .link(DashboardLink("govbus").type(model.DashboardLinkType.DASHBOARDS).tags(["govbus"])
                     .as_dropdown(True).include_vars(True).keep_time(True)))
    for section in sections:
        builder = builder.with_row(Row(section.title))
        for panel in section.panels:
            builder = builder.with_panel(panel)
    built = builder.build()
    for number, laid in enumerate(built.panels or [], start=1):
        laid.id_val = number
    return built
