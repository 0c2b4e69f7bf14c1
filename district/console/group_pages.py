"""Named groups of schools, kept by the district admin from the console (or by IT with
``roomcast provision district group``): the same district.json, the same checks.

A group is only a shorthand for picking schools: every request still names, on its
confirmation page, each school it goes to.
"""

from __future__ import annotations

import time
from typing import Any

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from district.board import DistrictBoard
from district.console.render import Pages
from district.console.sending import Groups
from district.console_store import ConsoleStore
from district.sessions import DistrictPrincipal
from hub.access import error, json_body
from hub.errors import Invalid

NOT_WRITABLE = (
    "the district service cannot write district.json ({problem}); IT changes groups with "
    "`roomcast provision district group set NAME --school ...`"
)


class GroupPages:
    def __init__(
        self, pages: Pages, board: DistrictBoard, store: ConsoleStore, groups: Groups
    ) -> None:
        self.pages, self.board, self.store, self.groups = pages, board, store, groups

    async def page(self, request: Request, principal: DistrictPrincipal) -> Response:
        try:
            groups: dict[str, Any] | str = dict(sorted(self.groups.current().items()))
        except ValueError as problem:
            groups = str(problem)
        return self.pages.show(
            request, principal, "groups", groups=groups, schools=sorted(self.board.schools)
        )

    def _audit(self, user: str, action: str, detail: dict[str, Any]) -> None:
        self.store.audit(at=time.time(), user=user, action=action, detail=detail)

    async def set_group(self, request: Request) -> Response:
        principal: DistrictPrincipal = request.state.principal
        body = await json_body(request)
        name, schools = body.get("name"), body.get("schools")
        if not isinstance(name, str) or not isinstance(schools, list):
            raise Invalid('send {"name": "near-elm", "schools": ["lincoln", "adams"]}')
        try:
            kept = self.groups.set(name.strip(), [s for s in schools if isinstance(s, str)])
        except ValueError as problem:
            raise Invalid(str(problem)) from None
        except OSError as problem:
            return error(NOT_WRITABLE.format(problem=problem.strerror or problem), 503)
        self._audit(principal.user, "group set", {"group": name, "schools": ", ".join(kept)})
        return JSONResponse({"name": name, "schools": list(kept)})

    async def remove_group(self, request: Request) -> Response:
        principal: DistrictPrincipal = request.state.principal
        name = request.path_params["name"]
        try:
            self.groups.remove(name)
        except ValueError as problem:
            raise Invalid(str(problem)) from None
        except OSError as problem:
            return error(NOT_WRITABLE.format(problem=problem.strerror or problem), 503)
        self._audit(principal.user, "group removed", {"group": name})
        return JSONResponse({"removed": name})
