"""The one exception type a bad catalogue or rule set raises, naming where the problem is."""

from __future__ import annotations


class RuleConfigError(ValueError):
    """A catalogue or rule file failed validation.

    `source` is the file (or "<data>" for in-memory rule sets), `rule` the rule id or
    category name, `field` the offending key.
    """

    def __init__(self, source: str, rule: str | None, field: str | None, message: str) -> None:
        self.source = source
        self.rule = rule
        self.field = field
        self.message = message
        where = source + (f": rule {rule}" if rule else "") + (f": field {field}" if field else "")
        super().__init__(f"{where}: {message}")
