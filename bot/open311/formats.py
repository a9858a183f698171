"""GeoReport v2 answers in the two formats the path's extension chooses: `.json` and `.xml`."""

from __future__ import annotations

from typing import Any
from xml.etree import ElementTree

from fastapi.responses import JSONResponse, Response

FORMATS = ("json", "xml")
# A list inside an element of this name holds items named so (the spec's XML shapes).
_ITEM = {"services": "service", "service_requests": "request", "attributes": "attribute", "values": "value",
         "errors": "error", "endpoints": "endpoint", "formats": "format"}


def _fill(element: ElementTree.Element, value: Any) -> None:
    if isinstance(value, list):
        for item in value:
            _fill(ElementTree.SubElement(element, _ITEM[element.tag]), item)
    elif isinstance(value, dict):
        for name, item in value.items():
            _fill(ElementTree.SubElement(element, name), item)
    elif isinstance(value, bool):
        element.text = "true" if value else "false"
    elif value is not None:
        element.text = str(value)


def to_xml(root: str, value: Any) -> str:
    """`value` under a `root` element, as the spec's examples show it (None: an empty element)."""
    element = ElementTree.Element(root)
    _fill(element, value)
    return '<?xml version="1.0" encoding="utf-8"?>\n' + ElementTree.tostring(element, encoding="unicode")


def answer(fmt: str, root: str, value: Any, status_code: int = 200) -> Response:
    """`value` as JSON, or as XML under `root`."""
    if fmt == "xml":
        return Response(to_xml(root, value), status_code=status_code, media_type="text/xml; charset=utf-8")
    return JSONResponse(value, status_code=status_code)


def errors(fmt: str, code: int, description: str) -> Response:
    """The spec's error answer: `[{code, description}]` with `code` as the HTTP status."""
    return answer(fmt if fmt in FORMATS else "json", "errors", [{"code": code, "description": description}], code)
