"""The status poll's answers (api/services/status_answers.py): made once per row read, made
again for any other row, the least recently polled dropped past the size."""

from __future__ import annotations

from pydantic import BaseModel

from api.services.status_answers import StatusAnswers


class View(BaseModel):
    state: str


def test_an_answer_is_made_once_per_row_and_again_for_another() -> None:
    answers = StatusAnswers()
    made: list[str] = []

    def make(state: str) -> View:
        made.append(state)
        return View(state=state)

    first = answers.answer("1", ("r1", "accepted"), lambda: make("accepted"))
    again = answers.answer("1", ("r1", "accepted"), lambda: make("accepted"))
    assert first == again == b'{"state":"accepted"}' and made == ["accepted"]
    # The row was written since: the answer is the new row's, never the kept one.
    moved = answers.answer("1", ("r2", "granted"), lambda: make("granted"))
    assert moved == b'{"state":"granted"}' and made == ["accepted", "granted"]


def test_the_least_recently_polled_go_first() -> None:
    answers = StatusAnswers(size=2)
    made: list[str] = []

    def make(number: str) -> View:
        made.append(number)
        return View(state=number)

    def poll(number: str) -> None:
        answers.answer(number, (number,), lambda: make(number))

    poll("a")
    poll("b")
    poll("a")  # kept; "b" is now the least recently polled
    poll("c")
    assert len(answers) == 2
    poll("a")
    poll("b")  # dropped, so made again
    assert made == ["a", "b", "c", "b"]
