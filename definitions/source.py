"""Reading YAML definitions so that every error can name its file, field path and line."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, TypeVar

import yaml
from pydantic import BaseModel, ValidationError

DEFINITIONS_ROOT = Path(__file__).resolve().parent

Loc = tuple[str | int, ...]
M = TypeVar("M", bound=BaseModel)


@dataclass(frozen=True)
class DefinitionError(Exception):
    """One problem in one definition file."""

    file: str
    path: str
    line: int | None
    message: str

    def __str__(self) -> str:
        where = f"{self.file}:{self.line}" if self.line else self.file
        field = f" {self.path}:" if self.path else ""
        return f"{where}:{field} {self.message}"


class DefinitionErrors(Exception):
    """Every problem found in a set of files; raised when there is at least one."""

    def __init__(self, errors: list[DefinitionError]) -> None:
        super().__init__("\n".join(str(e) for e in errors))
        self.errors = errors


def format_loc(loc: Loc) -> str:
    out = ""
    for part in loc:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


class SourceFile:
    """A parsed YAML document with the line of every key and list item."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.name = _display_name(path)
        self.lines: dict[Loc, int] = {}
        text = path.read_text(encoding="utf-8")
        try:
            node = yaml.compose(text)
            self.data: Any = yaml.safe_load(text)
        except yaml.YAMLError as exc:
            raise DefinitionErrors([self._syntax_error(exc)]) from exc
        if node is not None:
            self._index(node, ())

    def _syntax_error(self, exc: yaml.YAMLError) -> DefinitionError:
        mark = getattr(exc, "problem_mark", None)
        problem = getattr(exc, "problem", None) or str(exc)
        context = getattr(exc, "context", None)
        context_mark = getattr(exc, "context_mark", None)
        if context and context_mark:
            problem += f" ({context} started on line {context_mark.line + 1})"
        return DefinitionError(
            self.name, "", mark.line + 1 if mark else None, f"not valid YAML: {problem}"
        )

    def _index(self, node: yaml.Node, loc: Loc) -> None:
        self.lines.setdefault(loc, node.start_mark.line + 1)
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                child = (*loc, key.value)
                self.lines[child] = key.start_mark.line + 1
                self._index(value, child)
        elif isinstance(node, yaml.SequenceNode):
            for i, item in enumerate(node.value):
                self._index(item, (*loc, i))

    def line_of(self, loc: Loc) -> int | None:
        """The line of `loc`, or of its nearest ancestor present in the file."""
        for end in range(len(loc), -1, -1):
            if loc[:end] in self.lines:
                return self.lines[loc[:end]]
        return None

    def error(self, loc: Loc, message: str) -> DefinitionError:
        return DefinitionError(self.name, format_loc(loc), self.line_of(loc), message)

    def parse(self, model: type[M], data: Any = None) -> M:
        """Validate the document (or `data` standing for it: a later version of a matter, with
        what it inherits) against `model`, raising every schema error at once."""
        try:
            return model.model_validate(self.data if data is None else data)
        except ValidationError as exc:
            raise DefinitionErrors(
                [self.error(tuple(e["loc"]), e["msg"]) for e in exc.errors()]
            ) from exc


def _display_name(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(Path.cwd()))
    except ValueError:
        return str(path)


def load_model(path: Path, model: type[M]) -> M:
    return SourceFile(path).parse(model)
