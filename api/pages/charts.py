"""Charts laid out for inline SVG, drawn on the server: the templates only place what these
compute (no script, no library, nothing fetched)."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Bar:
    label: str
    x: float  # where the bar starts (after the labels)
    y: float
    width: float
    text: str  # the value, written after the bar


@dataclass(frozen=True)
class BarChart:
    """Horizontal bars, one a row."""

    bars: list[Bar]
    width: int
    height: int
    bar_height: int


def bar_chart(
    rows: list[tuple[str, float | None, str]],
    *,
    maximum: float,
    label_width: int = 130,
    bar_space: int = 300,
    row_height: int = 28,
) -> BarChart:
    """`rows` are (label, value, text); a value of None draws no bar, only its text."""
    top = maximum or 1
    bars = [
        Bar(
            label=label,
            x=label_width,
            y=6 + i * row_height,
            width=round(bar_space * max(value or 0, 0) / top, 1),
            text=text,
        )
        for i, (label, value, text) in enumerate(rows)
    ]
    return BarChart(
        bars=bars,
        width=label_width + bar_space + 90,
        height=12 + row_height * len(rows),
        bar_height=row_height - 8,
    )


@dataclass(frozen=True)
class Column:
    label: str
    x: float
    y: float
    width: float
    height: float
    value: int
    labelled: bool  # whether its label is written under it (one in every few)


@dataclass(frozen=True)
class ColumnChart:
    columns: list[Column]
    width: int
    height: int
    base: float  # the y of the axis
    maximum: int


def column_chart(
    points: list[tuple[str, int]], *, width: int = 640, plot_height: int = 140, labels: int = 12
) -> ColumnChart:
    """Vertical columns over time; about `labels` of them get their label written."""
    n = max(len(points), 1)
    step = (width - 40) / n
    top = max((v for _, v in points), default=0) or 1
    every = max(1, -(-n // labels))
    base = 10 + plot_height
    columns = []
    for i, (label, value) in enumerate(points):
        height = round(plot_height * value / top, 1)
        columns.append(
            Column(
                label=label,
                x=round(40 + i * step + step * 0.1, 1),
                y=round(base - height, 1),
                width=round(max(step * 0.8, 1), 1),
                height=height,
                value=value,
                labelled=i % every == 0,
            )
        )
    # A margin on the right: the last label may start under the last column.
    return ColumnChart(
        columns=columns, width=width + 30, height=plot_height + 40, base=base, maximum=top
    )
