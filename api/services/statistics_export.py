"""The statistics as files: CSV (UTF-8 with a byte-order mark, so that Excel reads the
Chinese) and Excel (.xlsx). Both hold the same rows: the scope, then each figure with its
key, value and definition, the ratings one level a row."""

from __future__ import annotations

import csv
import io
from typing import Any, Literal

from fastapi.responses import Response
from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

from api.services.statistics import Report
from domain.ratings import RatingLevel
from domain.statistics import FIGURES

CSV_TYPE = "text/csv; charset=utf-8"
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
HEADER = ("指标", "键", "数值", "定义")


def filename(report: Report, suffix: str) -> str:
    return f"statistics-{report.region.code}-{report.start:%Y%m%d}-{report.end:%Y%m%d}.{suffix}"


def scope_rows(report: Report) -> list[tuple[str, str]]:
    return [
        ("区域", f"{report.region.name}（{report.region.code}）"),
        ("层级", report.level.label if report.level else "全部（含下辖区域）"),
        ("统计期", f"{report.start:%Y-%m-%d} 至 {report.end:%Y-%m-%d}（按收件日期）"),
    ]


def figure_rows(report: Report) -> list[tuple[str, str, Any, str, str]]:
    """(label, key, value, unit, definition): a rate as a fraction, None as empty."""
    values = report.figures.model_dump()
    rows: list[tuple[str, str, Any, str, str]] = []
    for figure in FIGURES:
        if figure.key == "ratings":
            for level in RatingLevel:
                rows.append(
                    (
                        f"好差评·{level.label}",
                        f"ratings.{level.value}",
                        report.figures.ratings[level],
                        "count",
                        figure.definition,
                    )
                )
        else:
            rows.append(
                (figure.label, figure.key, values[figure.key], figure.unit, figure.definition)
            )
    return rows


def csv_bytes(report: Report) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    for name, value in scope_rows(report):
        writer.writerow([name, "", value, ""])
    writer.writerow(HEADER)
    for label, key, value, _, definition in figure_rows(report):
        writer.writerow([label, key, "" if value is None else value, definition])
    return ("\ufeff" + out.getvalue()).encode("utf-8")


_FORMATS = {"rate": "0.00%", "days": "0.00", "materials": "0.00", "count": "0"}


def xlsx_bytes(report: Report) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.title = "统计"
    for name, value in scope_rows(report):
        sheet.append([name, "", value, ""])
    sheet.append(list(HEADER))
    for cell in sheet[sheet.max_row]:
        cell.font = Font(bold=True)
    for label, key, value, unit, definition in figure_rows(report):
        sheet.append([label, key, value, definition])
        sheet.cell(row=sheet.max_row, column=3).number_format = _FORMATS[unit]
        sheet.cell(row=sheet.max_row, column=4).alignment = Alignment(wrap_text=True)
    for column, width in zip("ABCD", (18, 26, 14, 90), strict=True):
        sheet.column_dimensions[column].width = width
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def download(report: Report, kind: Literal["csv", "xlsx"]) -> Response:
    """The file, to save (the API's and the page's exports alike)."""
    content, media_type = (
        (csv_bytes(report), CSV_TYPE) if kind == "csv" else (xlsx_bytes(report), XLSX_TYPE)
    )
    disposition = f'attachment; filename="{filename(report, kind)}"'
    return Response(content, media_type=media_type, headers={"Content-Disposition": disposition})
