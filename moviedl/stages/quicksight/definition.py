"""The QuickSight dashboard as code: its datasets (one per analysis view athena-ddl emits) and
a ``Definition`` (sheets, visuals, parameters, controls, filters) that mirrors the offline
report's main panels. No template from another account: every visual is spelled here.

Every panel shows its n (how many titles a bar or cell stands for) in its tooltip or a column,
as the report does; rates are computed from sums (``sum(revenue) / sum(budget)``), never as an
average of averages. The filter controls — genre, decade, title type, minimum IMDb votes — are
parameters; each dataset that has the column is filtered by it (minimum votes: a title's
``imdb_votes``, else the ``votes_band`` the views carry, which the control offers as its values),
so a visual whose view lacks a column is left as it is (its subtitle says which filters apply).

The columns come from the views themselves (bound over empty tables shaped like the contract),
so a view that changes changes its dataset, and a visual naming a column its view lacks stops
the build (:class:`~moviedl.core.errors.UsageError`) before anything reaches AWS.
"""

from __future__ import annotations

import tempfile
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from moviedl.core.contract import TABLES
from moviedl.core.errors import UsageError
from moviedl.engines import duck
from moviedl.engines.base import ident
from moviedl.stages.catalog.views import load_views

#: QuickSight's input column types for the views' SQL types
_TYPES = {"BIGINT": "INTEGER", "INTEGER": "INTEGER", "DOUBLE": "DECIMAL", "VARCHAR": "STRING",
          "BOOLEAN": "BOOLEAN", "DATE": "DATETIME", "TIMESTAMP": "DATETIME"}

#: the filter controls: parameter, the column it filters, and its kind
GENRE, DECADE_FROM, DECADE_TO, TYPE, MIN_VOTES = "genre", "decadeFrom", "decadeTo", "titleType", "minVotes"


def view_columns() -> dict[str, list[tuple[str, str]]]:
    """Every analysis view's columns with their QuickSight types, read from the views bound
    over empty tables shaped like the contract."""
    with tempfile.TemporaryDirectory(prefix="moviedl-qs-") as tmp:
        con = duck.connect(None, Path(tmp))
        try:
            for table in TABLES.values():
                columns = ", ".join(f"{ident(c.name)} {c.type}" for c in table.columns)
                con.execute(f"CREATE TEMP TABLE {ident(table.name)} ({columns})")
            found = {}
            for view in load_views():
                con.execute(view.sql.replace("CREATE OR REPLACE VIEW", "CREATE OR REPLACE TEMP VIEW", 1))
                described = con.execute(f"DESCRIBE SELECT * FROM {ident(view.name)}").fetchall()
                found[view.name] = [(str(name), _TYPES.get(str(kind).split("(")[0], "STRING"))
                                    for name, kind, *_ in described]
            return found
        finally:
            con.close()


@dataclass(frozen=True)
class Panel:
    """One visual: ``kind`` (bar, heatmap, scatter, table, kpi), its view, the columns it
    groups by and the measures it shows (``name: expression`` for calculated ones, over sums)."""

    id: str
    title: str
    kind: str
    view: str
    dimensions: tuple[str, ...]
    measures: tuple[str, ...]  # columns summed, or names of :attr:`calculated` fields
    n: str = "titles"  # the column counting what a mark stands for, shown in the tooltip
    calculated: dict[str, str] = field(default_factory=dict)
    subtitle: str = ""


#: the report's main panels, in its order
PANELS: tuple[Panel, ...] = (
    Panel("genre-decade", "Genre popularity by decade", "heatmap", "v_genre_decade", ("genre", "decade"), ("titles",),
          subtitle="Titles per genre and decade of release (a title counts once in each of its genres)."),
    Panel("genre-rating", "Titles and average IMDb rating per genre", "bar", "v_genre_decade", ("genre",),
          ("titles", "avg_rating"), n="rated_titles",
          calculated={"avg_rating": "sum({avg_imdb_rating} * {rated_titles}) / sum({rated_titles})"},
          subtitle="Average over rated titles, weighted by how many each group holds."),
    Panel("kind-decade", "Movies and series per decade", "bar", "v_kind_decade", ("decade", "title_type"),
          ("titles",)),
    Panel("rating-votes", "IMDb rating against votes", "scatter", "v_title_facts", ("title",),
          ("imdb_votes", "imdb_rating"), n="imdb_votes",
          subtitle="One point per title; the genre filter does not apply (a title has several genres)."),
    Panel("top-rated", "Top rated titles", "table", "v_top_rated", ("title", "title_type", "release_year", "genres"),
          ("imdb_rating", "imdb_votes"), n="imdb_votes",
          subtitle="Titles with at least 10,000 IMDb votes (raise the minimum with the votes control)."),
    Panel("roi-genre", "Return on investment by genre", "bar", "v_budget_by_genre", ("genre",),
          ("roi", "budget", "revenue"), calculated={"roi": "sum({revenue}) / sum({budget})"},
          subtitle="Total revenue / total budget (US dollars) of the titles with both; n titles per bar."),
    Panel("tmdb-coverage", "TMDB coverage", "bar", "v_tmdb_coverage", ("decade", "title_type"), ("coverage_share",),
          calculated={"coverage_share": "sum({with_tmdb}) / sum({titles})"},
          subtitle="Share of titles with TMDB data, of n titles."),
    Panel("data-quality", "Data quality", "table", "v_kind_decade", ("title_type", "decade"),
          ("titles", "rated_titles", "timed_titles"),
          subtitle="Titles, and how many have an IMDb rating and a runtime, per type and decade."),
)

#: the views the dashboard reads (the genre control lists v_genre_summary's genres)
DASHBOARD_VIEWS = tuple(sorted({p.view for p in PANELS} | {"v_genre_summary"}))


def dashboard_definition(columns: dict[str, list[tuple[str, str]]], dataset_arn: dict[str, str]) -> dict[str, Any]:
    """The dashboard's ``Definition``: one sheet, the panels, the parameters and their controls,
    and a filter per dataset and control where the dataset has the column. ``dataset_arn``:
    each view's dataset."""
    views = DASHBOARD_VIEWS
    for panel in PANELS:
        have = {name for name, _ in columns.get(panel.view, [])}
        wanted = set(panel.dimensions) | ({panel.n} if panel.n else set()) | {
            m for m in panel.measures if m not in panel.calculated}
        for expression in panel.calculated.values():
            wanted |= {part.split("}")[0] for part in expression.split("{")[1:]}
        if panel.view not in columns or wanted - have:
            raise UsageError(f"QuickSight panel {panel.title!r}: view {panel.view} lacks {sorted(wanted - have)}; "
                             "the views and the dashboard definition disagree")
    types = {view: dict(cols) for view, cols in columns.items()}
    return {
        "DataSetIdentifierDeclarations": [
            {"Identifier": view, "DataSetArn": dataset_arn[view]} for view in views],
        "CalculatedFields": [{"DataSetIdentifier": p.view, "Name": name, "Expression": expression}
                             for p in PANELS for name, expression in p.calculated.items()],
        "ParameterDeclarations": _parameters(),
        "FilterGroups": _filter_groups(views, types),
        "Sheets": [{
            "SheetId": "overview",
            "Name": "Movies and series",
            "ParameterControls": _controls(),
            "Visuals": [_visual(panel, types[panel.view]) for panel in PANELS],
        }],
    }


def _parameters() -> list[dict[str, Any]]:
    everything = {"ValueWhenUnset": {"ValueWhenUnsetOption": "RECOMMENDED_VALUE"}}
    return [
        {"StringParameterDeclaration": {"ParameterValueType": "MULTI_VALUED", "Name": GENRE,
                                        "DefaultValues": {"StaticValues": []}, **everything}},
        {"StringParameterDeclaration": {"ParameterValueType": "SINGLE_VALUED", "Name": TYPE,
                                        "DefaultValues": {"StaticValues": []}, **everything}},
        {"IntegerParameterDeclaration": {"ParameterValueType": "SINGLE_VALUED", "Name": DECADE_FROM,
                                         "DefaultValues": {"StaticValues": [1870]}}},
        {"IntegerParameterDeclaration": {"ParameterValueType": "SINGLE_VALUED", "Name": DECADE_TO,
                                         "DefaultValues": {"StaticValues": [2030]}}},
        {"IntegerParameterDeclaration": {"ParameterValueType": "SINGLE_VALUED", "Name": MIN_VOTES,
                                         "DefaultValues": {"StaticValues": [0]}}},
    ]


def _controls() -> list[dict[str, Any]]:
    def dropdown(control: str, title: str, parameter: str, column: str, view: str, kind: str) -> dict[str, Any]:
        return {"Dropdown": {"ParameterControlId": control, "Title": title, "SourceParameterName": parameter,
                             "Type": kind, "SelectableValues": {"LinkToDataSetColumn": {
                                 "DataSetIdentifier": view, "ColumnName": column}}}}

    def slider(control: str, title: str, parameter: str, low: int, high: int, step: int) -> dict[str, Any]:
        return {"Slider": {"ParameterControlId": control, "Title": title, "SourceParameterName": parameter,
                           "MinimumValue": low, "MaximumValue": high, "StepSize": step}}

    return [
        dropdown("genre-control", "Genre", GENRE, "genre", "v_genre_summary", "MULTI_SELECT"),
        dropdown("type-control", "Title type", TYPE, "title_type", "v_kind_decade", "SINGLE_SELECT"),
        slider("decade-from-control", "From decade", DECADE_FROM, 1870, 2030, 10),
        slider("decade-to-control", "To decade", DECADE_TO, 1870, 2030, 10),
        dropdown("votes-control", "Minimum IMDb votes", MIN_VOTES, "votes_band", "v_title_facts", "SINGLE_SELECT"),
    ]


def _filter_groups(views: Iterable[str], types: dict[str, dict[str, str]]) -> list[dict[str, Any]]:
    groups = []
    for view in views:
        has = types.get(view, {})
        filters: list[dict[str, Any]] = []
        if "genre" in has:
            filters.append(_category(view, "genre", GENRE))
        if "title_type" in has:
            filters.append(_category(view, "title_type", TYPE))
        if "decade" in has:
            filters.append(_range(view, "decade", DECADE_FROM, DECADE_TO))
        votes = "imdb_votes" if "imdb_votes" in has else "votes_band" if "votes_band" in has else None
        if votes:  # a title's votes, or the band they reach (0, 1k, 10k...): the control offers the bands
            filters.append(_range(view, votes, MIN_VOTES, None))
        if not filters:
            continue
        groups.append({
            "FilterGroupId": f"filters-{view.replace('_', '-')}",
            "Filters": filters,
            "ScopeConfiguration": {"SelectedSheets": {"SheetVisualScopingConfigurations": [
                {"SheetId": "overview", "Scope": "ALL_VISUALS"}]}},
            "Status": "ENABLED",
            "CrossDataset": "SINGLE_DATASET",
        })
    return groups


def _category(view: str, column: str, parameter: str) -> dict[str, Any]:
    return {"CategoryFilter": {
        "FilterId": f"{view.replace('_', '-')}-{column.replace('_', '-')}",
        "Column": {"DataSetIdentifier": view, "ColumnName": column},
        "Configuration": {"CustomFilterConfiguration": {
            "MatchOperator": "EQUALS", "ParameterName": parameter, "NullOption": "NON_NULLS_ONLY",
            "SelectAllOptions": "FILTER_ALL_VALUES"}},
    }}


def _range(view: str, column: str, low: str, high: str | None) -> dict[str, Any]:
    bounds: dict[str, Any] = {"RangeMinimum": {"Parameter": low}, "IncludeMinimum": True}
    if high:
        bounds.update(RangeMaximum={"Parameter": high}, IncludeMaximum=True)
    return {"NumericRangeFilter": {
        "FilterId": f"{view.replace('_', '-')}-{column.replace('_', '-')}-range",
        "Column": {"DataSetIdentifier": view, "ColumnName": column},
        "NullOption": "ALL_VALUES", **bounds,
    }}


def _dimension(view: str, column: str, kind: str) -> dict[str, Any]:
    field_id = f"{view}.{column}"
    if kind in ("INTEGER", "DECIMAL"):
        return {"NumericalDimensionField": {"FieldId": field_id, "Column": {
            "DataSetIdentifier": view, "ColumnName": column}}}
    return {"CategoricalDimensionField": {"FieldId": field_id, "Column": {
        "DataSetIdentifier": view, "ColumnName": column}}}


def _measure(view: str, column: str, calculated: bool) -> dict[str, Any]:
    field_id = f"{view}.{column}"
    if calculated:  # an aggregate expression: its own aggregation
        return {"CalculatedMeasureField": {"FieldId": field_id, "Expression": f"{{{column}}}"}}
    return {"NumericalMeasureField": {"FieldId": field_id, "Column": {"DataSetIdentifier": view, "ColumnName": column},
                                      "AggregationFunction": {"SimpleNumericalAggregation": "SUM"}}}


def _title(panel: Panel) -> dict[str, Any]:
    return {"Title": {"Visibility": "VISIBLE", "FormatText": {"PlainText": panel.title}},
            "Subtitle": {"Visibility": "VISIBLE", "FormatText": {"PlainText": panel.subtitle or " "}}}


def _tooltip(panel: Panel) -> dict[str, Any]:
    """The tooltip shows the n of each mark besides what it draws."""
    fields = [{"FieldTooltipItem": {"FieldId": f"{panel.view}.{name}", "Visibility": "VISIBLE"}}
              for name in (*panel.dimensions, *panel.measures)]
    if panel.n and panel.n not in panel.measures:
        fields.append({"FieldTooltipItem": {"FieldId": f"{panel.view}.{panel.n}", "Label": "n",
                                            "Visibility": "VISIBLE"}})
    return {"TooltipVisibility": "VISIBLE", "SelectedTooltipType": "DETAILED",
            "FieldBasedTooltip": {"AggregationVisibility": "VISIBLE", "TooltipTitleType": "PRIMARY_VALUE",
                                  "TooltipFields": fields}}


def _visual(panel: Panel, types: dict[str, str]) -> dict[str, Any]:
    dims = [_dimension(panel.view, c, types[c]) for c in panel.dimensions]
    measures = [_measure(panel.view, m, m in panel.calculated) for m in panel.measures]
    n_field = ([_measure(panel.view, panel.n, False)] if panel.n and panel.n not in panel.measures else [])
    visual_id = panel.id
    if panel.kind == "table":
        return {"TableVisual": {"VisualId": visual_id, **_title(panel), "ChartConfiguration": {
            "FieldWells": {"TableAggregatedFieldWells": {"GroupBy": dims, "Values": measures + n_field}}}}}
    if panel.kind == "heatmap":
        return {"HeatMapVisual": {"VisualId": visual_id, **_title(panel), "ChartConfiguration": {
            "FieldWells": {"HeatMapAggregatedFieldWells": {"Rows": dims[:1], "Columns": dims[1:2], "Values": measures}},
            "Tooltip": _tooltip(panel)}}}
    if panel.kind == "scatter":
        return {"ScatterPlotVisual": {"VisualId": visual_id, **_title(panel), "ChartConfiguration": {
            "FieldWells": {"ScatterPlotUnaggregatedFieldWells": {
                "XAxis": [_dimension(panel.view, panel.measures[0], "INTEGER")],
                "YAxis": [_dimension(panel.view, panel.measures[1], "DECIMAL")],
                "Category": dims}},
            "Tooltip": _tooltip(panel)}}}
    wells: dict[str, Any] = {"Category": dims[:1], "Values": measures + n_field}
    if len(dims) > 1:
        wells["Colors"] = dims[1:2]
    return {"BarChartVisual": {"VisualId": visual_id, **_title(panel), "ChartConfiguration": {
        "FieldWells": {"BarChartAggregatedFieldWells": wells}, "Orientation": "HORIZONTAL"
        if panel.dimensions[0] == "genre" else "VERTICAL",
        "DataLabels": {"Visibility": "VISIBLE"}, "Tooltip": _tooltip(panel)}}}
