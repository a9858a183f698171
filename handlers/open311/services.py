"""Open311 services: the matter catalogue as GeoReport v2 service lists and definitions."""

from __future__ import annotations

from handlers.classify import Category, Classifier
from handlers.open311.errors import Open311Error

GRID_GROUP = "网格事项"
DEPARTMENT_GROUP = "部门事项"
MAX_KEYWORDS = 8


def service_code(category: Category) -> str:
    """A category's service code: its `code` in the catalogue, else its name."""
    return category.code or category.name


def category_for(classifier: Classifier, code: str) -> Category:
    """The category of service code `code`; Open311Error 404 when there is none."""
    for category in classifier.catalogue:
        if service_code(category) == code:
            return category
    raise Open311Error(404, f"no service with service_code {code!r}")


def _keywords(rules: list[dict]) -> str:
    """The first keywords of a category's rules, comma separated."""
    words = [word for rule in rules for word in rule.get("keywords", [])]
    return ", ".join(list(dict.fromkeys(words))[:MAX_KEYWORDS])


def service_list(classifier: Classifier) -> list[dict]:
    """GET services: one entry per category, grid matters first (the catalogue's order)."""
    _, rules = classifier.to_data()
    return [{"service_code": service_code(category), "service_name": category.name,
             "description": category.description, "metadata": bool(category.attributes), "type": "realtime",
             "keywords": _keywords(rules.get(category.name, [])),
             "group": GRID_GROUP if category.grid_matter else DEPARTMENT_GROUP}
            for category in classifier.catalogue]


def service_definition(classifier: Classifier, code: str) -> dict:
    """GET services/{code}: the category's attributes in the spec's shape."""
    category = category_for(classifier, code)
    return {"service_code": service_code(category), "attributes": [
        {"variable": True, "code": attribute.code, "datatype": attribute.datatype, "required": attribute.required,
         "datatype_description": None, "order": order, "description": f"{attribute.name}：{attribute.description}"
         if attribute.description else attribute.name,
         "values": [{"key": key, "name": name} for key, name in attribute.values]}
        for order, attribute in enumerate(category.attributes, start=1)]}
