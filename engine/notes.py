"""Provenance notes: what a stage did that a viewer should know (a fallback taken, counts).

A note is its English sentence (for logs, the CLI and stored records) and also carries a stable code
and the values in it, so that a site can say the same thing in its reader's language without parsing
the sentence. Values are plain JSON (numbers, strings, lists). A value named `reason` holds
technical detail (an error's text) that is for the people running the engine, not for visitors.
"""
from __future__ import annotations


class Note(str):
    code: str
    values: dict

    def __new__(cls, code: str, text: str, **values) -> "Note":
        note = super().__new__(cls, text)
        note.code = code
        note.values = values
        return note

    def __reduce__(self):  # pickles (and copies) keep the code and the values
        return (_make_note, (self.code, str(self), self.values))


def _make_note(code: str, text: str, values: dict) -> Note:
    return Note(code, text, **values)
