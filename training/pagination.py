"""Parameters for GOV.UK's pagination component, shared by every paginated list."""
from __future__ import annotations

from flask import url_for


def govuk_pagination(endpoint: str, page: int, pages: int, args: dict | None = None,
                     label: str | None = None) -> dict | None:
    """Links to the first, last and neighbouring pages of `endpoint`, keeping `args` (the
    filters) in every link; None when everything fits on one page."""
    if pages <= 1:
        return None
    args = dict(args or {})

    def href(number: int) -> str:
        return url_for(endpoint, **{**args, "page": number})

    items: list[dict] = []
    last = 0
    for number in sorted({1, pages, page - 1, page, page + 1} & set(range(1, pages + 1))):
        if number - last > 1:
            items.append({"ellipsis": True})
        items.append({"number": number, "href": href(number), "current": number == page})
        last = number
    params: dict = {"items": items}
    if label:
        params["landmarkLabel"] = label
    if page > 1:
        params["previous"] = {"href": href(page - 1)}
    if page < pages:
        params["next"] = {"href": href(page + 1)}
    return params
